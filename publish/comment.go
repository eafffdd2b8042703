package publish

import (
	"context"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

// Comments lists the comments of pull request number created or updated
// at or after since, oldest first: what the daemon's comment poll reads
// commands from.
func (f *Forge) Comments(ctx context.Context, number int, since time.Time) ([]landform.Comment, error) {
	return f.client.ListComments(ctx, number, since)
}

// Comment adds a comment to pull request number (a chat-ops reply), cut
// to the forge's limit.
func (f *Forge) Comment(ctx context.Context, number int, body string) error {
	if limit := f.client.MaxCommentLength(); limit > 0 {
		// Bytes bound runes: a body of limit-64 bytes fits with the note.
		body = redact.Bound(body, limit-64)
	}
	_, err := f.client.CreateComment(ctx, number, body)
	return err
}
