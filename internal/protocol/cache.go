package protocol

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Discovery and JWKS documents are serialised once and served from memory: the
// hot path is one map lookup and one Write of prebuilt bytes and headers. They
// change only when the directory or the keys do, which store.ChangeVersion
// reports; Watch polls it and drops every document when it moves.

// docKind names a kind of cached document.
type docKind uint8

const (
	kindDiscoveryV2 docKind = iota
	kindDiscoveryV1
	kindKeysV2
	kindKeysV1
)

type docKey struct {
	kind   docKind
	tenant string // the path segment, lower-cased
	appID  string // the ?appid= value, lower-cased; "" for none
}

// doc is a ready response: its body and Content-Length are made once, and
// every header value is a shared slice, so serving copies no bytes.
type doc struct {
	body          []byte
	contentLength []string
}

func newDoc(body []byte) *doc {
	return &doc{body: body, contentLength: []string{strconv.Itoa(len(body))}}
}

func (d *doc) serve(w http.ResponseWriter, traceID string) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrCacheDay
	h["Access-Control-Allow-Origin"] = hdrAllowAll
	h["Access-Control-Allow-Methods"] = hdrAllowMethods
	h["Content-Length"] = d.contentLength
	if _, ok := h["X-Ms-Request-Id"]; !ok { // the server's middleware sets it
		h["X-Ms-Request-Id"] = []string{traceID}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(d.body)
}

// docCache holds the documents of one generation. Invalidation swaps in an
// empty generation; a document built from data read before the swap is
// stored into the generation it started in, which nobody reads any more, so a
// stale document can never outlive an invalidation.
type docCache struct {
	gen atomic.Pointer[sync.Map] // docKey → *doc
}

func (c *docCache) reset() { c.gen.Store(new(sync.Map)) }

// get returns the cached document, or builds, stores and returns it. Errors
// are not cached: unknown tenants must not fill memory.
func (c *docCache) get(k docKey, build func() ([]byte, error)) (*doc, error) {
	gen := c.gen.Load()
	if d, ok := gen.Load(k); ok {
		return d.(*doc), nil
	}
	body, err := build()
	if err != nil {
		return nil, err
	}
	d := newDoc(body)
	gen.Store(k, d)
	return d, nil
}

// Invalidate drops every cached document. The server calls it right after its
// own writes; Watch calls it when another process changed the store.
func (h *Handlers) Invalidate() { h.docs.reset() }

// maxDocAge bounds how long a document is served even if ChangeVersion stands
// still: key sets also change with time alone (a previous key's RetireAt).
const maxDocAge = 10 * time.Minute

// Watch polls store.ChangeVersion every interval until ctx ends and drops the
// cached documents when it moves (or maxDocAge passed). Polling in the
// background, not per request, keeps the database off the hot path; a change
// made by another replica shows within one interval.
func (h *Handlers) Watch(ctx context.Context, interval time.Duration) {
	last, err := h.opts.Store.ChangeVersion(ctx)
	if err != nil && ctx.Err() == nil {
		h.opts.Logger.Warn("reading the store's change version failed", "err", err)
	}
	reset := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := h.opts.Store.ChangeVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.opts.Logger.Warn("reading the store's change version failed", "err", err)
			}
			continue
		}
		if v != last || time.Since(reset) > maxDocAge {
			last, reset = v, time.Now()
			h.Invalidate()
		}
	}
}
