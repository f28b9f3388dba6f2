// Every string the agent's desktop shows, in one catalog per language. Add a language by
// adding an object with the same keys; the page picks navigator.language's, else English.
export const catalogs = {
  en: {
    title: "Agent desktop",
    skipToMain: "Skip to the desk",
    connection: "Connection",
    connected: "Connected",
    connecting: "Connecting…",
    reconnecting: "Connection lost. Reconnecting in {seconds} s… Your session is kept for a while.",
    reconnected: "Reconnected: your session was resumed.",
    takenOver: "Your session was taken over: this agent logged in on another desktop. This page no longer works; sign in again to take it back.",
    signInAgain: "Sign in again",
    loginHeading: "Sign in",
    loginLabel: "Login",
    passwordLabel: "Password",
    signIn: "Sign in",
    signingIn: "Signing in…",
    signOut: "Sign out",
    loginFailed: "Unknown login or wrong password.",
    agent: "Agent",
    state: "State",
    "state.logged-out": "Signed out",
    "state.not-ready": "Not ready",
    "state.available": "Ready, waiting for a call",
    "state.reserved": "Reserved",
    "state.on-call": "On a call",
    "state.wrap-up": "Wrap-up",
    pending: "After this: {change}",
    ready: "Ready",
    notReady: "Not ready",
    reasonLabel: "Reason",
    "reason.break": "Break",
    "reason.lunch": "Lunch",
    "reason.meeting": "Meeting",
    "reason.training": "Training",
    "reason.other": "Other",
    statusHeading: "Availability",
    idleHeading: "No call",
    idleText: "Go ready to receive calls and previews.",
    waitingText: "Waiting for the next call…",
    reservedText: "A call is being placed for you…",
    offerHeading: "Preview",
    offerExpires: "Answer within {seconds} s",
    accept: "Accept and call",
    skip: "Skip",
    contactHeading: "Contact",
    phone: "Phone",
    campaign: "Campaign",
    timeZone: "Contact's time zone",
    historyHeading: "Earlier attempts",
    noHistory: "No earlier attempts.",
    historyWhen: "When",
    historyOutcome: "Outcome",
    historyDisposition: "Disposition",
    historyAgent: "Agent",
    notDialed: "not dialed",
    open: "open",
    callHeading: "Call",
    inbound: "Inbound call",
    outbound: "Outbound call",
    callTime: "Call time",
    hangUp: "Hang up",
    scriptHeading: "Script",
    noScript: "This campaign has no script.",
    wrapUpHeading: "Wrap-up",
    wrapUpLeft: "Wrap-up ends in {seconds} s",
    dispositionLabel: "Disposition",
    chooseDisposition: "Choose a disposition…",
    "kind.final": "final",
    "kind.retry": "call again",
    "kind.callback": "callback",
    notesLabel: "Notes",
    callbackLabel: "Call back at (contact's time: {zone})",
    callbackPrivate: "Only I take this callback (private)",
    callbackInvalid: "Choose a callback date and time in the future.",
    saveDisposition: "Save disposition",
    extend: "Extend wrap-up by 30 s",
    saved: "Disposition saved.",
    noDispositions: "The campaign's dispositions could not be read.",
    shortcutsHeading: "Keyboard shortcuts",
    "shortcut.ready": "Alt+R: ready",
    "shortcut.notReady": "Alt+N: not ready",
    "shortcut.accept": "Alt+A: accept the preview",
    "shortcut.skip": "Alt+S: skip the preview",
    "shortcut.hangUp": "Alt+H: hang up",
    "shortcut.extend": "Alt+E: extend wrap-up",
    "shortcut.save": "Ctrl+Enter: save the disposition",
    offerWithdrawn: "The preview was withdrawn ({reason}).",
    error: "The gateway refused: {message}",
    none: "—",
  },
};

const language = (globalThis.navigator?.language ?? "en").slice(0, 2);
const strings = catalogs[language] ?? catalogs.en;

/** The string `key`, with `{name}` replaced from `values`. */
export function t(key, values = {}) {
  const text = strings[key] ?? catalogs.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** Fills every element's text from its data-t attribute, and labels from data-t-label. */
export function translatePage(root = document) {
  document.documentElement.lang = catalogs[language] ? language : "en";
  for (const element of root.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);
  for (const element of root.querySelectorAll("[data-t-label]")) element.setAttribute("aria-label", t(element.dataset.tLabel));
}
