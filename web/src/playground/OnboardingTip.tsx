import { memo, useState } from "react";

/** localStorage key set once the tour is dismissed (public/boot.js reads it too). */
export const KEY = "codebuddy.onboarded";

/** The tips; the first is also painted by public/boot.js before the app loads. */
export const STEPS = [
  "Everyone here edits the same files live; coloured cursors show who is where.",
  "Run the code with the Run button or Ctrl+Enter; the output appears for everybody.",
  "Chat and the people list are on the right (the Chat tab on a phone). Press ? for shortcuts.",
];

function seen(): boolean {
  try {
    return localStorage.getItem(KEY) === "1";
  } catch {
    return true;
  }
}

/**
 * The step on screen. The tip shows in the loading skeleton and then in the
 * page (two mounts), so a click on "Next tip" meanwhile is kept.
 */
let shownStep = 0;

/**
 * A short first-visit tour, dismissed for good with one click. It needs no
 * data, so the playground's loading skeleton shows it too: the first paint
 * has it (it is the page's largest text) instead of waiting for the editor.
 */
export const OnboardingTip = memo(function OnboardingTip() {
  const [open, setOpen] = useState(() => !seen());
  const [step, setStepState] = useState(() => shownStep);
  const setStep = (n: number) => {
    shownStep = n;
    setStepState(n);
  };
  if (!open) return null;
  const steps = STEPS;
  const close = () => {
    try {
      localStorage.setItem(KEY, "1");
    } catch {
      // Not persisted in private mode; it just shows again next time.
    }
    setOpen(false);
  };
  return (
    <aside className="onboarding" aria-label="Welcome tour">
      <p>
        <strong>
          Tip {step + 1} of {steps.length}:
        </strong>{" "}
        {steps[step]}
      </p>
      <div className="row-actions">
        {step < steps.length - 1 ? (
          <button type="button" className="button small" onClick={() => setStep(step + 1)}>
            Next tip
          </button>
        ) : null}
        <button type="button" className="button small secondary" onClick={close}>
          {step < steps.length - 1 ? "Skip tour" : "Got it"}
        </button>
      </div>
    </aside>
  );
});
