import { Link } from "../app/router";
import { AppHeader } from "../components/AppHeader";

export function NotFoundPage() {
  return (
    <>
      <AppHeader />
      <main id="main" className="narrow-page">
        <h1>Page not found</h1>
        <p>
          <Link href="/">Go to your dashboard</Link>
        </p>
      </main>
    </>
  );
}
