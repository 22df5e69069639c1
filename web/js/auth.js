// Sign in and create-account screens; what the server refuses is told as a
// sentence a person can act on (wrong password, name taken, too short).

import { api } from "./api.js";
import { el, icon } from "./dom.js";
import { channelIcon } from "./format.js";

/** Shows the form until a session exists; resolves with the signed-in user. */
export function signIn(root, { invite, mode = "login" }) {
  return new Promise((resolve) => {
    const show = (mode) => root.replaceChildren(form(mode, invite, resolve, show));
    show(mode);
  });
}

function form(mode, invite, done, show) {
  const registering = mode === "register";
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
    try {
      const { user } = await api("POST", registering ? "/auth/register" : "/auth/login", body);
      done(user);
    } catch (failure) {
      error.textContent = explain(failure, body.username);
      submit.disabled = false;
      (failure.code === "conflict" ? username : password).focus();
    }
  };
  const page = el("main", { class: "auth" },
    el("form", { class: "card", onsubmit },
      el("div", { class: "brand" }, el("span", { class: "logo", "aria-hidden": "true" }, "P"), "Parley"),
      el("h1", {}, registering ? "Create your account" : "Sign in"),
      invite ? el("p", { class: "invite-note" }, "You are invited to ", el("strong", {}, icon(channelIcon(invite.channel)), invite.channel.name || "a conversation"), ". Sign in or create an account to join.") : null,
      el("label", { for: "username" }, "Username"), username,
      registering ? el("small", { class: "hint" }, "3–32 characters: a–z, 0–9, _ . -") : null,
      registering ? el("label", { for: "display-name" }, "Display name ", el("span", { class: "hint" }, "(optional)")) : null, displayName,
      el("label", { for: "password" }, "Password"), password,
      registering ? el("small", { class: "hint" }, "At least 8 characters.") : null,
      error, submit,
      el("p", { class: "switch" }, registering ? "Already have an account? " : "New here? ",
        el("button", { type: "button", class: "link", onclick: () => show(registering ? "login" : "register") }, registering ? "Sign in" : "Create an account")),
    ));
  queueMicrotask(() => username.focus());
  return page;
}

/** The server's refusal as a sentence: its own words, capitalised, for what has no better one. */
function explain(failure, username) {
  switch (failure.code) {
    case "unauthenticated":
      return "Wrong username or password.";
    case "conflict":
      return `The username “${username}” is taken. Pick another one, or sign in.`;
    case "rate_limited":
      return "Too many tries. Wait a minute, then try again.";
    default: {
      const text = failure.message.trim();
      return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? "" : "."}`;
    }
  }
}
