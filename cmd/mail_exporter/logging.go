package main

import (
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/sys/unix"
)

// newLogger builds the process logger: tint for the console (colour only
// on a terminal), log/slog's own handlers for logfmt and json.
func newLogger(w *os.File, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	case "logfmt":
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})
	default:
		h = tint.NewHandler(w, &tint.Options{Level: lv, TimeFormat: time.DateTime, NoColor: !isTerminal(w)})
	}
	return slog.New(h)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// terminalWidth is the width to wrap the check report at: the terminal's
// columns (else $COLUMNS, else 80) when f is a terminal, 0 (no wrapping:
// one line per item, for grep and scripts) when it is a pipe or a file.
func terminalWidth(f *os.File) int {
	if !isTerminal(f) {
		return 0
	}
	if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}
