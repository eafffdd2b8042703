package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerMasksMessagesAndAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil), New([]string{"tok-12345"})))
	log.With("url", "https://x:tok-12345@h").Info("pushing with tok-12345",
		"err", errors.New("auth tok-12345 refused"), slog.Group("g", "v", "tok-12345"), "n", 3)
	out := buf.String()
	if strings.Contains(out, "tok-12345") {
		t.Errorf("a secret reached the log:\n%s", out)
	}
	if strings.Count(out, Mask) != 4 || !strings.Contains(out, "n=3") {
		t.Errorf("log line:\n%s", out)
	}
}
