// Landform dashboard: live updates. The pages work without this script;
// with it, a page listens to the daemon's events (GET /events, server-sent
// events) and refreshes its <main> when one concerns it. <main> says what
// it watches: data-watch (event types), data-run, data-repo; data-pending
// marks a run about to change, which is refreshed now and then when live
// updates are off.
(function () {
  "use strict";

  var status = document.getElementById("live-status");
  var busy = false;
  var again = false;
  var timer = 0;

  function say(text) {
    if (status && text) {
      status.textContent = text;
    }
  }

  function main() {
    return document.querySelector("main");
  }

  // editing: the person is typing in a form; refreshing would lose it.
  function editing() {
    var el = document.activeElement;
    return !!el && el.form !== undefined && el.form !== null && el.tagName !== "BUTTON";
  }

  function refresh() {
    timer = 0;
    if (busy) {
      again = true;
      return;
    }
    if (editing()) {
      say("This page changed: reload it to see what is new.");
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (resp) {
        if (resp.redirected) {
          // Signed out meanwhile: let the browser follow.
          window.location.reload();
          return null;
        }
        if (!resp.ok) {
          throw new Error("HTTP " + resp.status);
        }
        return resp.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var old = main();
        if (fresh && old) {
          old.replaceWith(document.adoptNode(fresh));
          schedulePending();
        }
      })
      .catch(function () {
        say("Could not refresh this page; reload it to see what is new.");
      })
      .finally(function () {
        busy = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function schedule() {
    if (!timer) {
      timer = window.setTimeout(refresh, 250);
    }
  }

  function concerns(type, data) {
    var m = main();
    if (!m) {
      return false;
    }
    var watched = (m.dataset.watch || "").split(" ");
    if (watched.indexOf(type) < 0) {
      return false;
    }
    if (m.dataset.run) {
      return data.run === m.dataset.run;
    }
    if (m.dataset.repo) {
      return data.repo === m.dataset.repo;
    }
    return true;
  }

  var live = document.body.dataset.live;
  var pendingTimer = 0;

  // schedulePending refreshes a page about to change every 5 seconds when
  // there are no live updates.
  function schedulePending() {
    if (live || pendingTimer) {
      return;
    }
    var m = main();
    if (m && m.dataset.pending === "true") {
      pendingTimer = window.setTimeout(function () {
        pendingTimer = 0;
        refresh();
      }, 5000);
    }
  }

  if (live && window.EventSource) {
    var source = new EventSource(live);
    var opened = false;
    source.addEventListener("open", function () {
      // After a reconnection events may have been missed.
      if (opened) {
        schedule();
      }
      opened = true;
      // Says the stream is open (the server has subscribed this page):
      // for styles, and for tests that wait for it.
      document.body.dataset.liveState = "open";
    });
    source.addEventListener("error", function () {
      document.body.dataset.liveState = "reconnecting";
    });
    ["run", "repo", "drift"].forEach(function (type) {
      source.addEventListener(type, function (e) {
        var data;
        try {
          data = JSON.parse(e.data);
        } catch (err) {
          return;
        }
        if (concerns(type, data)) {
          say(data.text);
          schedule();
        }
      });
    });
    source.addEventListener("resync", schedule);
    window.addEventListener("pagehide", function () {
      source.close();
    });
  } else {
    live = "";
    schedulePending();
  }
})();
