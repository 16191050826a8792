export function App() {
  return (
    <main className="landing">
      <h1>CodeBuddy</h1>
      <p>Code together in real time, run it in a sandbox, see the output together.</p>
      <a className="button" href="/login">
        Sign in
      </a>
    </main>
  );
}
