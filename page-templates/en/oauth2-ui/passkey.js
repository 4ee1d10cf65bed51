// Passkey sign-in on the built-in OAuth2 page (served as /oauth2/ui/passkey.js).
// The server holds the ceremony; this only carries options and the assertion.
(function () {
  "use strict";
  var section = document.getElementById("passkey-section");
  var button = document.getElementById("passkey");
  var alertBox = document.getElementById("passkey-error");
  if (!section || !button || !alertBox) {
    return;
  }

  function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
    button.setAttribute("aria-describedby", "passkey-error");
  }

  function clearError() {
    alertBox.textContent = "";
    alertBox.hidden = true;
    button.removeAttribute("aria-describedby");
  }

  function fromBase64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function form(extra) {
    var body = new URLSearchParams();
    body.set("request_id", section.getAttribute("data-request-id"));
    body.set("csrf", section.getAttribute("data-csrf"));
    Object.keys(extra).forEach(function (k) {
      body.set(k, extra[k]);
    });
    return body;
  }

  // Our refusals carry a sentence for the user in `message`; a rate limit or an
  // outage gets a sentence of ours.
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (res.ok) {
          return json;
        }
        if (res.status === 429) {
          throw new Error("Too many attempts. Try again later.");
        }
        if (res.status < 500 && typeof json.message === "string") {
          throw new Error(json.message);
        }
        throw new Error("Passkey sign-in failed. Try again.");
      });
    });
  }

  function requestOptions(json) {
    var options = {
      challenge: fromBase64url(json.challenge),
      timeout: json.timeout,
      rpId: json.rpId,
      userVerification: json.userVerification
    };
    if (json.allowCredentials) {
      options.allowCredentials = json.allowCredentials.map(function (c) {
        return { type: c.type, id: fromBase64url(c.id), transports: c.transports };
      });
    }
    return options;
  }

  function assertionJson(cred) {
    var r = cred.response;
    return JSON.stringify({
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: toBase64url(r.clientDataJSON),
        authenticatorData: toBase64url(r.authenticatorData),
        signature: toBase64url(r.signature),
        userHandle: r.userHandle ? toBase64url(r.userHandle) : null
      }
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    button.disabled = true;
    showError("This browser cannot use passkeys. Sign in another way.");
    return;
  }

  button.addEventListener("click", function () {
    clearError();
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    var emailInput = document.getElementById("email");
    var email = emailInput ? emailInput.value.trim() : "";
    post("passkey-options", form(email ? { email: email } : {}))
      .then(function (json) {
        return navigator.credentials.get({ publicKey: requestOptions(json) }).catch(function () {
          throw new Error("The passkey was not used. Try again or sign in another way.");
        });
      })
      .then(function (cred) {
        if (!cred) {
          throw new Error("The passkey was not used. Try again or sign in another way.");
        }
        return post("passkey-verify", form({ credential: assertionJson(cred) }));
      })
      .then(function (json) {
        // Relative to this page: the same page, which now shows the consent.
        window.location.assign(json.location);
      })
      .catch(function (e) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        showError(e && e.message ? e.message : "Passkey sign-in failed. Try again.");
      });
  });
})();
