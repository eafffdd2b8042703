package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

// CreateToken stores t (its sha256, never the token) and sets t.ID, and
// t.CreatedAt from the DB's clock when it is zero. EINVALID for a token
// that fails Check, ECONFLICT for a sha256 already stored.
func (db *DB) CreateToken(ctx context.Context, t *landform.APIToken) error {
	if err := t.Check(); err != nil {
		return err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now().UTC()
	}
	if err := checkTimes(t.CreatedAt, t.ExpiresAt); err != nil {
		return err
	}
	var id int64
	err := db.pool.QueryRow(ctx, `INSERT INTO api_tokens (identity, role, sha256, created_at, expires_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING RETURNING id`,
		t.Identity, string(t.Role), t.SHA256, formatTime(t.CreatedAt), nullTime(t.ExpiresAt), t.CreatedBy).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return landform.Errorf(landform.ECONFLICT, "a token with this sha256 is already stored")
	}
	if err != nil {
		return fmt.Errorf("storing a token of %s: %w", t.Identity, err)
	}
	t.ID = strconv.FormatInt(id, 10)
	return nil
}

const tokenColumns = `id, identity, role, sha256, created_at, expires_at, created_by`

func scanToken(row pgx.Row) (*landform.APIToken, error) {
	var (
		id               int64
		role             string
		created, expires *string
	)
	tok := &landform.APIToken{}
	if err := row.Scan(&id, &tok.Identity, &role, &tok.SHA256, &created, &expires, &tok.CreatedBy); err != nil {
		return nil, err
	}
	tok.ID, tok.Role = strconv.FormatInt(id, 10), landform.Role(role)
	var err error
	if tok.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if tok.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return tok, nil
}

// TokenBySHA256 returns the stored token whose sha256 is sum, expired or
// not (the caller decides); ENOTFOUND when there is none.
func (db *DB) TokenBySHA256(ctx context.Context, sum string) (*landform.APIToken, error) {
	tok, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE sha256 = $1`, sum))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, landform.Errorf(landform.ENOTFOUND, "no such token")
	}
	if err != nil {
		return nil, fmt.Errorf("reading a token: %w", err)
	}
	return tok, nil
}

// ListTokens returns the stored tokens, oldest first, never nil.
func (db *DB) ListTokens(ctx context.Context) ([]*landform.APIToken, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	defer rows.Close()
	out := []*landform.APIToken{}
	for rows.Next() {
		tok, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tokens: %w", err)
		}
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes token id, and the sessions signed in with it are
// not affected (they carry their own expiry); ENOTFOUND for an unknown
// token.
func (db *DB) RevokeToken(ctx context.Context, id string) error {
	n, ok := parseID(id)
	if !ok {
		return landform.Errorf(landform.ENOTFOUND, "token %s not found", id)
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, n)
	if err != nil {
		return fmt.Errorf("revoking token %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return landform.Errorf(landform.ENOTFOUND, "token %s not found", id)
	}
	return nil
}

// CreateSession stores s. EINVALID without an identity, a valid role, a
// sha256, a CSRF token or an expiry; ECONFLICT for a sha256 already
// stored.
func (db *DB) CreateSession(ctx context.Context, s *landform.WebSession) error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now().UTC()
	}
	if err := checkTimes(s.CreatedAt, s.ExpiresAt); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO web_sessions (sha256, identity, role, csrf, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING`,
		s.SHA256, s.Identity, string(s.Role), s.CSRF, formatTime(s.CreatedAt), formatTime(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing a session of %s: %w", s.Identity, err)
	}
	if tag.RowsAffected() == 0 {
		return landform.Errorf(landform.ECONFLICT, "a session with this sha256 is already stored")
	}
	return nil
}

// Session returns the session whose sha256 is sum, unless it expired at
// now; ENOTFOUND when there is none.
func (db *DB) Session(ctx context.Context, sum string, now time.Time) (*landform.WebSession, error) {
	var (
		s                landform.WebSession
		role             string
		created, expires *string
	)
	err := db.pool.QueryRow(ctx, `SELECT sha256, identity, role, csrf, created_at, expires_at
		FROM web_sessions WHERE sha256 = $1 AND expires_at > $2`, sum, formatTime(now)).
		Scan(&s.SHA256, &s.Identity, &role, &s.CSRF, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, landform.Errorf(landform.ENOTFOUND, "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("reading a session: %w", err)
	}
	s.Role = landform.Role(role)
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSession deletes the session whose sha256 is sum; none is fine.
func (db *DB) DeleteSession(ctx context.Context, sum string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE sha256 = $1`, sum); err != nil {
		return fmt.Errorf("deleting a session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions expired at now and returns
// how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= $1`, formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("deleting expired sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// CountRuns returns how many runs there are of each kind in each state
// (the pairs with none left out).
func (db *DB) CountRuns(ctx context.Context) ([]landform.RunCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT kind, state, count(*) FROM runs GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("counting runs: %w", err)
	}
	defer rows.Close()
	out := []landform.RunCount{}
	for rows.Next() {
		var c landform.RunCount
		var kind, state string
		if err := rows.Scan(&kind, &state, &c.Count); err != nil {
			return nil, fmt.Errorf("counting runs: %w", err)
		}
		c.Kind, c.State = landform.RunKind(kind), landform.RunState(state)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting runs: %w", err)
	}
	return out, nil
}
