import { StrictMode, startTransition } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
// In a task after the one that evaluated the app's modules (creating the root
// sets up React's event listeners), and as a transition, so React renders the
// first page in slices: no single long task on a slow phone.
setTimeout(() =>
  startTransition(() =>
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  ),
);
