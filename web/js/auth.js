// Sign in and create-account screens, and the page of a password reset link;
// what the server refuses is told as a sentence a person can act on (wrong
// password, name taken, too short). Sign-up follows the server's policy
// (`GET /server`): open, by invite link only, or closed; the first account of
// a fresh server is told it becomes the admin.

import { api } from "./api.js";
import { el, icon } from "./dom.js";
import { channelIcon } from "./format.js";

/**
 * Shows the form until a session exists; resolves with `{user, registered}`.
 * `server`: what `GET /server` said (null: as if open). `invite`: the
 * preview of the invite in the address, `"invalid"` when it is unknown, or
 * null; `code` its code, sent with a sign-up. `notice`: why this screen is
 * shown (signed out elsewhere), said above the form.
 */
export function signIn(root, { server = null, invite = null, code = null, notice = "", mode } = {}) {
  const policy = { registration: server?.registration ?? "open", first: Boolean(server?.first_account) };
  const start = mode ?? ((invite && invite !== "invalid") || (policy.first && policy.registration !== "closed") ? "register" : "login");
  return new Promise((resolve) => {
    const show = (mode, said = notice) => root.replaceChildren(form({ mode, policy, invite, code, notice: said }, resolve, show));
    show(start);
  });
}

function form({ mode, policy, invite, code, notice }, done, show) {
  const registering = mode === "register";
  const valid = invite && invite !== "invalid" ? invite : null;
  // Who may not sign up here says so instead of showing a form that is refused.
  const barred = registering && (policy.registration === "closed"
    || (policy.registration === "invite" && !valid && !policy.first));
  const switchTo = (next) => () => show(next, "");
  const brand = el("div", { class: "brand" }, el("span", { class: "logo", "aria-hidden": "true" }, "P"), "Parley");
  const said = notice ? el("p", { class: "notice", role: "status" }, notice) : null;
  const where = invitation(invite);

  if (barred) {
    const closed = policy.registration === "closed";
    const signInButton = el("button", { type: "button", class: "primary", onclick: switchTo("login") }, "Sign in");
    queueMicrotask(() => signInButton.focus());
    return el("main", { class: "auth" }, el("div", { class: "card" }, brand,
      el("h1", {}, closed ? "Sign-up is closed" : "Sign-up needs an invite"), said, where,
      el("p", { class: "policy" }, closed
        ? "This server does not take new sign-ups. Ask its admin to make you an account."
        : "Sign-up on this server needs an invite link. Ask someone here to send you one, then open it."),
      el("p", { class: "switch" }, "Already have an account?"), signInButton));
  }

  const username = el("input", {
    id: "username", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false",
    minlength: registering ? "3" : null, maxlength: "32",
  });
  const displayName = registering ? el("input", { id: "display-name", name: "display_name", autocomplete: "name", maxlength: "64" }) : null;
  const password = el("input", {
    id: "password", name: "password", type: "password", required: true,
    minlength: registering ? "8" : null, maxlength: "1024",
    autocomplete: registering ? "new-password" : "current-password",
  });
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { class: "primary", type: "submit" }, registering ? "Create account" : "Sign in");
  const onsubmit = async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    const body = { username: username.value.trim(), password: password.value };
    if (displayName?.value.trim()) body.display_name = displayName.value.trim();
    if (registering && valid) body.invite = code;
    try {
      const { user } = await api("POST", registering ? "/auth/register" : "/auth/login", body);
      done({ user, registered: registering });
    } catch (failure) {
      error.textContent = explain(failure, body.username);
      submit.disabled = false;
      (failure.code === "conflict" ? username : password).focus();
    }
  };
  // Who may sign up: anyone, or with this link; closed, it is not offered.
  const offerSignUp = policy.registration !== "closed" || valid;
  const first = registering && policy.first
    ? el("p", { class: "notice first" }, "You are the first here: this account becomes the server's admin.") : null;
  const card = el("form", { class: "card", onsubmit },
    brand,
    el("h1", {}, registering ? "Create your account" : "Sign in"),
    said, where, first,
    el("label", { for: "username" }, "Username"), username,
    registering ? el("small", { class: "hint" }, "3–32 characters: a–z, 0–9, _ . -") : null,
    registering ? el("label", { for: "display-name" }, "Display name ", el("span", { class: "hint" }, "(optional)")) : null, displayName,
    el("label", { for: "password" }, "Password"), password,
    registering ? el("small", { class: "hint" }, "At least 8 characters.") : null,
    error, submit,
    registering
      ? el("p", { class: "switch" }, "Already have an account? ", el("button", { type: "button", class: "link", onclick: switchTo("login") }, "Sign in"))
      : offerSignUp
        ? el("p", { class: "switch" }, "New here? ", el("button", { type: "button", class: "link", onclick: switchTo("register") }, "Create an account"))
        : el("p", { class: "switch" }, "New here? Sign-up is closed on this server: ask its admin for an account."));
  queueMicrotask(() => username.focus());
  return el("main", { class: "auth" }, card);
}

/** Where the invite in the address leads, or that it leads nowhere. */
function invitation(invite) {
  if (!invite) return null;
  if (invite === "invalid") {
    return el("p", { class: "invite-note invalid" }, "This invite link is not valid: it may have expired or been used up.");
  }
  if (!invite.channel) {
    return el("p", { class: "invite-note" }, "You are invited to ", el("strong", {}, "join this server"), ". Create an account to come in.");
  }
  return el("p", { class: "invite-note" }, "You are invited to ",
    el("strong", {}, icon(channelIcon(invite.channel)), invite.channel.name || "a conversation"), ". Sign in or create an account to join.");
}

/**
 * The page of a reset link (`/reset/<token>`): a new password, twice; then
 * signed in (every other session of the account has ended). Resolves with
 * the user, or null when the person would rather sign in.
 */
export function resetPassword(root, token) {
  return new Promise((resolve) => {
    const password = el("input", { id: "new-password", type: "password", required: true, minlength: "8", maxlength: "1024", autocomplete: "new-password" });
    const again = el("input", { id: "new-password-again", type: "password", required: true, minlength: "8", maxlength: "1024", autocomplete: "new-password" });
    const error = el("p", { class: "error", role: "alert" });
    const submit = el("button", { class: "primary", type: "submit" }, "Set password and sign in");
    const onsubmit = async (e) => {
      e.preventDefault();
      error.textContent = "";
      if (password.value !== again.value) {
        error.textContent = "The two passwords differ. Type the same one twice.";
        again.focus();
        return;
      }
      submit.disabled = true;
      try {
        const { user } = await api("POST", "/auth/reset", { token, password: password.value });
        resolve(user);
      } catch (failure) {
        error.textContent = explain(failure, "");
        submit.disabled = false;
        password.focus();
      }
    };
    root.replaceChildren(el("main", { class: "auth" }, el("form", { class: "card", onsubmit },
      el("div", { class: "brand" }, el("span", { class: "logo", "aria-hidden": "true" }, "P"), "Parley"),
      el("h1", {}, "Set a new password"),
      el("p", { class: "hint lead" }, "An admin made this link for your account. It works once, within the hour; your other devices will be signed out."),
      el("label", { for: "new-password" }, "New password"), password,
      el("small", { class: "hint" }, "At least 8 characters."),
      el("label", { for: "new-password-again" }, "New password again"), again,
      error, submit,
      el("p", { class: "switch" }, "Remember it? ", el("button", { type: "button", class: "link", onclick: () => resolve(null) }, "Sign in")))));
    queueMicrotask(() => password.focus());
  });
}

/** The server's refusal as a sentence: its own words, capitalised, for what has no better one. */
export function explain(failure, username) {
  switch (failure.code) {
    case "unauthenticated":
      return "Wrong username or password.";
    case "conflict":
      return username ? `The username “${username}” is taken. Pick another one, or sign in.` : sentence(failure.message);
    case "rate_limited":
      return "Too many tries. Wait a minute, then try again.";
    default:
      return sentence(failure.message);
  }
}

/** A message of the server's as a sentence: capitalised, with its full stop. */
export function sentence(message) {
  const text = message.trim();
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? "" : "."}`;
}
