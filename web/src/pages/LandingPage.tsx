import { Link } from "../app/router";
import { AppHeader } from "../components/AppHeader";

export function LandingPage() {
  return (
    <>
      <AppHeader />
      <main id="main" className="landing">
        <h1>CodeBuddy</h1>
        <p className="lead">Code together in real time, run it in a sandbox, see the output together.</p>
        <p>
          <Link className="button" href="/signup">
            Create an account
          </Link>{" "}
          <Link className="button secondary" href="/login">
            Sign in
          </Link>
        </p>
      </main>
    </>
  );
}
