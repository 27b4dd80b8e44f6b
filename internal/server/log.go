package server

import (
	"io"
	"log/slog"
)

// NewLogger returns the server's structured logger writing to w: format
// "json" or "text" (anything else), at level and above.
func NewLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
