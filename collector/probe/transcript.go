package probe

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// Transcript is the readable record of one probe's dialogue and log lines,
// kept only for /probe?debug=true. Secrets are masked on the way in: client
// lines that carry credentials become "AUTH PLAIN ****", "PASS ****",
// "a1 LOGIN user ****", and every known secret (and its base64 forms) is
// replaced wherever else it might show up.
type Transcript struct {
	mu        sync.Mutex
	start     time.Time
	buf       bytes.Buffer
	limit     int
	truncated bool
	secrets   []string
	// saslPending is set after a server continuation ("334 ", "+ "): the
	// next client line is a SASL response or literal and is masked whole.
	saslPending bool
}

// transcriptLimit bounds a transcript; a chatty or hostile server cannot
// make a debug page grow without bound.
const transcriptLimit = 64 << 10

// NewTranscript starts an empty transcript that masks the given secrets.
func NewTranscript(secrets ...string) *Transcript {
	t := &Transcript{start: time.Now(), limit: transcriptLimit}
	for _, s := range secrets {
		if s != "" {
			t.secrets = append(t.secrets, s)
		}
	}
	return t
}

// AddSecrets adds strings to mask from now on.
func (t *Transcript) AddSecrets(secrets ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			t.secrets = append(t.secrets, s)
		}
	}
}

// String returns the transcript text.
func (t *Transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.buf.String()
	if t.truncated {
		s += "… transcript truncated\n"
	}
	return s
}

func (t *Transcript) add(prefix, line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	line = maskSecrets(line, t.secrets)
	if t.buf.Len()+len(line) > t.limit {
		t.truncated = true
		return
	}
	fmt.Fprintf(&t.buf, "%8.3fs %s %s\n", time.Since(t.start).Seconds(), prefix, line)
}

// clientLine records a line the client sent, masking credential commands.
func (t *Transcript) clientLine(line string) {
	t.mu.Lock()
	pending := t.saslPending
	t.saslPending = false
	t.mu.Unlock()
	if pending {
		line = "****"
	} else {
		line = maskCommand(line)
	}
	t.add("C:", clip(line))
}

func (t *Transcript) serverLine(line string) {
	if strings.HasPrefix(line, "334 ") || line == "334" || strings.HasPrefix(line, "+ ") || line == "+" {
		t.mu.Lock()
		t.saslPending = true
		t.mu.Unlock()
	}
	t.add("S:", clipLong(line))
}

func clipLong(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// maskCommand hides the credential arguments of login commands:
// SMTP/POP3 "AUTH mech ir", POP3 "PASS x", IMAP "tag LOGIN user pass" and
// "tag AUTHENTICATE mech ir".
func maskCommand(line string) string {
	f := strings.Fields(line)
	switch {
	case len(f) >= 3 && strings.EqualFold(f[0], "AUTH"):
		return f[0] + " " + f[1] + " ****"
	case len(f) >= 2 && strings.EqualFold(f[0], "PASS"):
		return f[0] + " ****"
	case len(f) >= 4 && strings.EqualFold(f[1], "LOGIN"):
		return f[0] + " " + f[1] + " " + f[2] + " ****"
	case len(f) >= 4 && strings.EqualFold(f[1], "AUTHENTICATE"):
		return f[0] + " " + f[1] + " " + f[2] + " ****"
	}
	return line
}

// maskSecrets replaces every secret, and the base64 forms in which SASL
// carries it, with ****.
func maskSecrets(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, "****")
		s = strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte(sec)), "****")
	}
	return s
}

// Mask is maskSecrets with this transcript's secrets; safe on a nil receiver.
func (t *Transcript) Mask(s string) string {
	if t == nil {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return maskSecrets(s, t.secrets)
}

// tap wraps c so that every line read and written is recorded.
func (t *Transcript) tap(c net.Conn) net.Conn {
	return &tapConn{Conn: c, t: t}
}

type tapConn struct {
	net.Conn
	t          *Transcript
	rbuf, wbuf []byte
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rbuf = splitLines(append(c.rbuf, p[:n]...), c.t.serverLine)
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.wbuf = splitLines(append(c.wbuf, p...), c.t.clientLine)
	return c.Conn.Write(p)
}

// splitLines emits every complete line of buf and returns the rest. A line
// that never ends is emitted in pieces, so the buffer stays small.
func splitLines(buf []byte, emit func(string)) []byte {
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if len(buf) > maxLineBytes {
				emit(string(buf[:maxLineBytes]) + "…")
				buf = buf[:0]
			}
			return buf
		}
		emit(string(bytes.TrimRight(buf[:i], "\r")))
		buf = buf[i+1:]
	}
}

// teeHandler copies log records into a transcript as well as to the
// exporter's own log.
type teeHandler struct {
	next slog.Handler
	t    *Transcript
}

func (h teeHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.t.add("#", r.Level.String()+" "+b.String())
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.next.WithAttrs(as), h.t}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{h.next.WithGroup(name), h.t}
}

// TranscriptHandler returns a slog.Handler that copies records into tr and
// passes them on to next: how other checks put their log lines into a
// /probe?debug=true answer.
func TranscriptHandler(next slog.Handler, tr *Transcript) slog.Handler {
	return teeHandler{next: next, t: tr}
}

// Note adds a line of the caller's own to the transcript, e.g. which
// address the dialogue that follows is with.
func (t *Transcript) Note(line string) { t.add("#", line) }

// Append copies other's lines (already masked) at the end of t, so that the
// transcripts of probes that ran side by side read one after the other.
func (t *Transcript) Append(other *Transcript) {
	s := other.String()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buf.Len()+len(s) > t.limit {
		t.truncated = true
		s = s[:max(0, t.limit-t.buf.Len())]
	}
	t.buf.WriteString(s)
}
