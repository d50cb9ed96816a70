package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
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
