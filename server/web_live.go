package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

// LiveUpdates passes what the daemon does to the dashboard's open pages
// (GET /events, server-sent events), which refresh what changed. Publish
// never blocks: a page that reads too slowly loses events and is told to
// refresh everything instead.
type LiveUpdates struct {
	mu   sync.Mutex
	subs map[*liveSub]struct{}
	// subsChanged is closed, and replaced, when a page comes or goes.
	subsChanged chan struct{}
	closed      bool
	done        chan struct{}
	// pollErr is each repository's last poll error, to report a change
	// of it only, not every round.
	pollErr map[string]string
}

// liveEvent is one server-sent event: its type ("run", "repo", "drift")
// and JSON data.
type liveEvent struct {
	Type string
	Data liveData
}

// liveData is what a page learns: which run or repository changed, and a
// line for people ("run 42 (infra/app) is now approved").
type liveData struct {
	Repo      string            `json:"repo"`
	Run       string            `json:"run,omitempty"`
	Workspace string            `json:"workspace,omitempty"`
	Kind      landform.RunKind  `json:"kind,omitempty"`
	State     landform.RunState `json:"state,omitempty"`
	Text      string            `json:"text,omitempty"`
}

// liveSub is one open page.
type liveSub struct {
	ch chan liveEvent
	// lost is set when an event was dropped because ch was full.
	lost atomic.Bool
}

// Live update bounds: events buffered per page, pages at once, and how
// long one stream lasts before the browser reconnects (re-checking its
// credentials).
const (
	liveBuffer    = 32
	maxLiveSubs   = 512
	liveStreamAge = 10 * time.Minute
	liveKeepalive = 25 * time.Second
	liveRetry     = 3 * time.Second
)

// NewLiveUpdates returns a broadcaster with no subscribers.
func NewLiveUpdates() *LiveUpdates {
	return &LiveUpdates{subs: map[*liveSub]struct{}{}, subsChanged: make(chan struct{}), done: make(chan struct{}), pollErr: map[string]string{}}
}

// Publish passes e to the open pages when pages show it: runs queued,
// finished, approved, applying and applied; drift reports; a change of a
// repository's poll error. Give it to runner.WithEvents. It never blocks.
func (l *LiveUpdates) Publish(e runner.Event) {
	ev, ok := l.liveEventOf(e)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.subs {
		select {
		case s.ch <- ev:
		default:
			s.lost.Store(true)
		}
	}
}

// liveEventOf is what pages learn of e; ok false for what no page shows.
func (l *LiveUpdates) liveEventOf(e runner.Event) (liveEvent, bool) {
	switch e.Kind {
	case runner.EventRunQueued, runner.EventRunFinished, runner.EventApproval, runner.EventApplyStarted, runner.EventApplyFinished:
		if e.Run == nil {
			return liveEvent{}, false
		}
		r := e.Run
		d := liveData{Repo: r.Repo, Run: r.ID, Workspace: r.Workspace, Kind: r.Kind, State: r.State,
			Text: fmt.Sprintf("Run %s (%s/%s) is now %s.", r.ID, r.Repo, r.Workspace, words(r.State))}
		if e.Kind == runner.EventApproval && e.Err != nil {
			d.Text = fmt.Sprintf("An approval of run %s was refused.", r.ID)
		}
		return liveEvent{Type: "run", Data: d}, true
	case runner.EventDriftReported:
		return liveEvent{Type: "drift", Data: liveData{Repo: e.Repo, Text: "New drift report for " + e.Repo + "."}}, true
	case runner.EventLocksReleased:
		return liveEvent{Type: "repo", Data: liveData{Repo: e.Repo}}, true
	case runner.EventPolled:
		msg := ""
		if e.Err != nil {
			msg = e.Err.Error()
		}
		l.mu.Lock()
		prev, seen := l.pollErr[e.Repo]
		l.pollErr[e.Repo] = msg
		l.mu.Unlock()
		if seen && prev == msg || !seen && msg == "" {
			return liveEvent{}, false
		}
		text := "Polling " + e.Repo + " works again."
		if msg != "" {
			text = "Polling " + e.Repo + " fails."
		}
		return liveEvent{Type: "repo", Data: liveData{Repo: e.Repo, Text: text}}, true
	}
	return liveEvent{}, false
}

// Close ends every stream and refuses new ones (give it to
// http.Server.RegisterOnShutdown: a stream never goes idle by itself).
func (l *LiveUpdates) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
}

// Subscribers returns how many pages listen now.
func (l *LiveUpdates) Subscribers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// WaitSubscribers waits until exactly n pages are subscribed, or ctx ends
// (its error then).
func (l *LiveUpdates) WaitSubscribers(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		got, changed := len(l.subs), l.subsChanged
		l.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d pages subscribed, want %d: %w", got, n, ctx.Err())
		}
	}
}

// subsChange wakes WaitSubscribers; l.mu is held.
func (l *LiveUpdates) subsChange() {
	close(l.subsChanged)
	l.subsChanged = make(chan struct{})
}

// subscribe adds a page; ok false when closed or full.
func (l *LiveUpdates) subscribe() (s *liveSub, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.subs) >= maxLiveSubs {
		return nil, false
	}
	s = &liveSub{ch: make(chan liveEvent, liveBuffer)}
	l.subs[s] = struct{}{}
	l.subsChange()
	return s, true
}

func (l *LiveUpdates) unsubscribe(s *liveSub) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, s)
	l.subsChange()
}

// events serves GET /events to viewers: a text/event-stream of "run",
// "repo" and "drift" events with JSON data (liveData), and "resync" when
// events were lost. The stream ends after liveStreamAge; the browser
// reconnects.
func (h *dashboard) events(w http.ResponseWriter, r *http.Request) {
	secure(w)
	p, aerr := h.auth.identify(r)
	switch {
	case aerr != nil && aerr.err != nil:
		h.logger.Error("dashboard: checking credentials failed", "path", r.URL.Path, "err", aerr.err)
		writeBody(w, http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		return
	case aerr != nil:
		writeBody(w, http.StatusUnauthorized, "text/plain; charset=utf-8", []byte("sign in first\n"))
		return
	case !p.Role.Allows(landform.RoleViewer):
		writeBody(w, http.StatusForbidden, "text/plain; charset=utf-8", []byte("forbidden\n"))
		return
	}
	live := h.d.Live
	sub, ok := live.subscribe()
	if !ok {
		writeBody(w, http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("no live updates now\n"))
		return
	}
	defer live.unsubscribe(sub)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // a proxy in front must not buffer it
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n: live updates of Landform\n\n", liveRetry.Milliseconds()); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	age := time.NewTimer(liveStreamAge)
	defer age.Stop()
	keep := time.NewTicker(liveKeepalive)
	defer keep.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-live.done:
			return
		case <-age.C:
			return
		case <-keep.C:
			_, err = fmt.Fprint(w, ": keepalive\n\n")
		case ev := <-sub.ch:
			if sub.lost.Swap(false) {
				_, err = fmt.Fprint(w, "event: resync\ndata: {}\n\n")
				break
			}
			b, _ := json.Marshal(ev.Data) // strings only: cannot fail
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}
