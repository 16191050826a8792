package sqlstore

import (
	"database/sql"
	"fmt"

	"github.com/codebuddy-dev/codebuddy"
)

func mustAffect(res sql.Result, notFound string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return codebuddy.Errorf(codebuddy.ENOTFOUND, "%s", notFound)
	}
	return nil
}
