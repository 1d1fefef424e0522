/* bastion: WebAuthn in the browser (security keys and passkeys).
 *
 * The server (Yubico's fido2) sends options as JSON with binary fields in base64url; the
 * browser API wants ArrayBuffers and answers with ArrayBuffers. This file converts both ways
 * and talks to the JSON endpoints named by data attributes on the buttons:
 *
 *   <button data-webauthn="register" data-options-url=... data-verify-url=... data-label-input=ID>
 *   <button data-webauthn="authenticate" data-options-url=... data-verify-url=... data-next=...>
 *
 * Status and errors go to the element with [data-webauthn-status]. Buttons stay hidden where
 * the browser has no WebAuthn. No inline script: the CSP allows only files from this site.
 */
(function () {
  "use strict";

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = Object.assign({}, item);
      copy.id = toBuffer(item.id);
      return copy;
    });
  }

  function creationOptions(publicKey) {
    var options = Object.assign({}, publicKey);
    options.challenge = toBuffer(publicKey.challenge);
    options.user = Object.assign({}, publicKey.user, { id: toBuffer(publicKey.user.id) });
    options.excludeCredentials = descriptors(publicKey.excludeCredentials);
    return options;
  }

  function requestOptions(publicKey) {
    var options = Object.assign({}, publicKey);
    options.challenge = toBuffer(publicKey.challenge);
    if (publicKey.allowCredentials) {
      options.allowCredentials = descriptors(publicKey.allowCredentials);
    }
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    return out;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken()
      },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.text().then(function (text) {
        var data;
        try { data = JSON.parse(text); } catch (e) { data = { error: text.trim() }; }
        if (!response.ok) {
          var error = new Error(data.error || ("The server answered " + response.status + "."));
          error.redirect = data.redirect;
          throw error;
        }
        return data;
      });
    });
  }

  function say(text, isError) {
    var status = document.querySelector("[data-webauthn-status]");
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("notice-error", Boolean(isError));
    status.hidden = !text;
  }

  function failed(error) {
    if (error && error.redirect) { window.location.assign(error.redirect); return; }
    var message = (error && error.message) || String(error);
    if (error && error.name === "NotAllowedError") {
      message = "The security key did not answer, or the request was cancelled.";
    } else if (error && error.name === "InvalidStateError") {
      message = "This security key is already registered to your account.";
    }
    say(message, true);
  }

  function register(button) {
    var labelInput = document.getElementById(button.getAttribute("data-label-input"));
    var label = labelInput ? labelInput.value.trim() : "";
    if (labelInput && !label) {
      say("Give the key a name first.", true);
      labelInput.focus();
      return;
    }
    say("Touch or unlock your security key\u2026", false);
    post(button.getAttribute("data-options-url"))
      .then(function (options) {
        return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      })
      .then(function (credential) {
        return post(button.getAttribute("data-verify-url"), {
          label: label,
          credential: credentialJSON(credential)
        });
      })
      .then(function (result) { window.location.assign(result.redirect); })
      .catch(failed);
  }

  function authenticate(button) {
    say("Touch or unlock your security key\u2026", false);
    post(button.getAttribute("data-options-url"))
      .then(function (options) {
        return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      })
      .then(function (credential) {
        return post(button.getAttribute("data-verify-url"), {
          next: button.getAttribute("data-next") || "",
          credential: credentialJSON(credential)
        });
      })
      .then(function (result) { window.location.assign(result.redirect); })
      .catch(failed);
  }

  var supported = Boolean(window.PublicKeyCredential && navigator.credentials);
  document.querySelectorAll("[data-webauthn]").forEach(function (button) {
    if (!supported) {
      var note = document.querySelector("[data-webauthn-unsupported]");
      if (note) { note.hidden = false; }
      button.remove();  // the site's button style would show it despite [hidden]
      return;
    }
    button.hidden = false;
    var start = button.getAttribute("data-webauthn") === "register" ? register : authenticate;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      start(button);
    });
    // Enter in the form of a key's name starts the registration rather than a plain POST.
    if (button.form) {
      button.form.addEventListener("submit", function (event) {
        event.preventDefault();
        start(button);
      });
    }
  });
})();
