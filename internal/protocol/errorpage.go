package protocol

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
)

// The error page every error_uri points at:
//
//	GET /error?code=90002
//
// It explains one catalogue entry and how to fix it in Entrance. Plain text:
// nothing from the request is echoed back except the parsed number.
func (h *Handlers) errorPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	entry, ok := aadsts.Lookup(code)
	if err != nil || !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "Unknown error code. Codes appear in error_description as AADSTS followed by the number, e.g. /error?code=90002.")
		return
	}
	w.Header().Set("Cache-Control", "max-age=86400")
	fmt.Fprintf(w, "AADSTS%d  error=%s  HTTP %d\n\n%s\n\nHow to fix it: %s\n",
		entry.Code, entry.Error, entry.Status, strings.ReplaceAll(entry.Message, "%s", "…"), entry.Hint)
}
