// My account: a new password (the current one asked first; my other devices
// are signed out by it), the devices signed in as me, each of which I can
// sign out from here, and the people I block, each of whom I can unblock.

import { api } from "./api.js";
import { explain, sentence } from "./auth.js";
import { avatar, el, modal } from "./dom.js";
import { ago, displayName, fullTime } from "./format.js";

/** The server knows when a session was last used to within this much. */
const SEEN_WITHIN = 5 * 60_000;

export function open(store) {
  return modal("Your account", () => {
    const me = store.user;
    const devices = sessions();
    return el("div", { class: "dialog-body account" },
      el("div", { class: "who" }, avatar(me, me.id),
        el("span", { class: "grow" }, el("strong", { dir: "auto" }, displayName(me)), el("small", {}, ` @${me.username}`)),
        me.role === "admin" ? el("span", { class: "tag admin" }, "Server admin") : null),
      password(me, () => devices.load()),
      devices.node,
      blocks(store));
  });
}

/** Change my password: the current one, then the new one. */
function password(me, changed) {
  const current = el("input", { id: "current-password", type: "password", required: true, maxlength: "1024", autocomplete: "current-password" });
  const fresh = el("input", { id: "new-password", type: "password", required: true, minlength: "8", maxlength: "1024", autocomplete: "new-password" });
  const error = el("p", { class: "error", role: "alert" });
  const done = el("p", { class: "hint done", role: "status" });
  const submit = el("button", { class: "primary", type: "submit" }, "Change password");
  const onsubmit = async (e) => {
    e.preventDefault();
    error.textContent = "";
    done.textContent = "";
    submit.disabled = true;
    try {
      await api("POST", "/me/password", { current_password: current.value, new_password: fresh.value });
      current.value = "";
      fresh.value = "";
      done.textContent = "Password changed. Your other devices have been signed out.";
      changed();
    } catch (failure) {
      error.textContent = failure.code === "forbidden" ? "The current password is wrong." : explain(failure, "");
      (failure.code === "forbidden" ? current : fresh).focus();
    } finally {
      submit.disabled = false;
    }
  };
  return el("section", { "aria-labelledby": "password-heading" },
    el("h3", { id: "password-heading" }, "Password"),
    el("form", { class: "stack", onsubmit },
      // For password managers: whose password this is.
      el("input", { type: "text", name: "username", autocomplete: "username", value: me.username, hidden: true }),
      el("label", { for: "current-password" }, "Current password"), current,
      el("label", { for: "new-password" }, "New password"), fresh,
      el("small", { class: "hint" }, "At least 8 characters. Every other device signed in as you is signed out."),
      error, done,
      el("div", { class: "buttons" }, submit)));
}

/** The browsers and apps signed in as me, the last used first; any but this one can be signed out. */
function sessions() {
  const list = el("ul", { class: "list pick sessions", "aria-labelledby": "devices-heading" }, el("li", { class: "empty" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const status = el("p", { class: "hint", role: "status" });
  const everywhere = el("button", { type: "button", hidden: true }, "Sign out all other devices");
  let others = [];

  async function load() {
    try {
      const { sessions: all } = await api("GET", "/me/sessions");
      others = all.filter((s) => !s.current);
      list.replaceChildren(...all.map(row));
      everywhere.hidden = others.length < 2;
    } catch (failure) {
      error.textContent = sentence(failure.message);
    }
  }

  async function end(session) {
    await api("DELETE", `/me/sessions/${encodeURIComponent(session.id)}`).catch((failure) => {
      if (failure.code !== "not_found") throw failure; // already ended: as good as done
    });
  }

  function row(session) {
    const what = device(session.user_agent);
    const seen = new Date(session.last_seen_at);
    const label = `device-${session.id}`;
    const signOut = session.current ? null : el("button", {
      type: "button", "aria-describedby": label,
      onclick: async () => {
        signOut.disabled = true;
        error.textContent = "";
        try {
          await end(session);
          await load();
          status.textContent = `${what} is signed out.`;
          // Focus stays in the list, else goes to the heading's dialog: not lost to the page.
          (list.querySelector("button") ?? list.closest("dialog")?.querySelector("header button"))?.focus();
        } catch (failure) {
          error.textContent = sentence(failure.message);
          signOut.disabled = false;
        }
      },
    }, "Sign out");
    return el("li", {}, el("span", { class: "grow", id: label },
      el("strong", {}, what, session.current ? el("span", { class: "tag" }, "This device") : null),
      el("small", { title: `Last active ${fullTime(seen)}` },
        session.current || Date.now() - seen.getTime() < SEEN_WITHIN ? "Active now" : `Last active ${ago(seen)}`,
        ` · signed in ${ago(new Date(session.created_at))}`)),
    signOut);
  }

  everywhere.addEventListener("click", async () => {
    everywhere.disabled = true;
    error.textContent = "";
    try {
      for (const session of others) await end(session);
      await load();
      status.textContent = "Every other device is signed out.";
    } catch (failure) {
      error.textContent = sentence(failure.message);
    } finally {
      everywhere.disabled = false;
    }
  });
  load();
  return {
    load,
    node: el("section", { "aria-labelledby": "devices-heading" },
      el("h3", { id: "devices-heading" }, "Signed-in devices"),
      el("p", { class: "hint" }, "Signing out a device ends its session there at once."),
      list, status, error, el("div", { class: "buttons" }, everywhere)),
  };
}

/** Whom I block, the latest first, each with Unblock. */
function blocks(store) {
  const list = el("ul", { class: "list pick blocks", "aria-labelledby": "blocks-heading" }, el("li", { class: "empty" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const status = el("p", { class: "hint", role: "status" });

  async function load() {
    try {
      const { users } = await api("GET", "/me/blocks");
      store.setBlocks(users);
      store.changed();
      list.replaceChildren(...users.map(row));
      if (!users.length) list.append(el("li", { class: "empty" }, "You block nobody."));
    } catch (failure) {
      error.textContent = sentence(failure.message);
    }
  }

  function row(user) {
    const unblock = el("button", {
      type: "button", "aria-label": `Unblock ${user.username}`,
      onclick: async () => {
        unblock.disabled = true;
        error.textContent = "";
        try {
          await api("DELETE", `/me/blocks/${user.id}`);
          store.setBlocked(user, false);
          await load();
          status.textContent = `You unblocked ${user.username}.`;
          (list.querySelector("button") ?? list.closest("dialog")?.querySelector("header button"))?.focus();
        } catch (failure) {
          error.textContent = sentence(failure.message);
          unblock.disabled = false;
        }
      },
    }, "Unblock");
    return el("li", {}, avatar(user, user.id),
      el("span", { class: "grow" }, el("strong", { dir: "auto" }, displayName(user)), el("small", {}, `@${user.username}`)), unblock);
  }

  load();
  return el("section", { "aria-labelledby": "blocks-heading" },
    el("h3", { id: "blocks-heading" }, "Blocked people"),
    el("p", { class: "hint" }, "Their messages are collapsed for you, and they cannot message you directly. Block someone from their name in a member list."),
    list, status, error);
}

/** A User-Agent as a person names their device: "Firefox on Windows", "Safari on iPhone". */
export function device(agent) {
  if (!agent) return "An unknown device";
  const browser = [
    [/Edg(?:e|A|iOS)?\//, "Edge"], [/OPR\/|Opera/, "Opera"], [/Firefox\/|FxiOS/, "Firefox"],
    [/HeadlessChrome/, "Headless Chrome"], [/Chromium\//, "Chromium"], [/Chrome\/|CriOS/, "Chrome"], [/Safari\//, "Safari"],
  ].find(([pattern]) => pattern.test(agent))?.[1];
  const system = [
    [/iPhone/, "iPhone"], [/iPad/, "iPad"], [/Android/, "Android"], [/CrOS/, "ChromeOS"],
    [/Windows/, "Windows"], [/Mac OS X|Macintosh/, "macOS"], [/Linux/, "Linux"],
  ].find(([pattern]) => pattern.test(agent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  // Not a browser: its first product token (`curl/8.5.0` is curl).
  return browser ?? system ?? (agent.split(/[\s/]/)[0] || "An unknown device");
}
