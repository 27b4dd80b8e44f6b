package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// stmtCacheMax bounds the statements kept. Our queries are fixed strings
// (a few dozen, plus the sign-in log's filter combinations), so the bound
// is never reached in practice; past it queries simply run unprepared.
const stmtCacheMax = 256

// stmtCache keeps one *sql.Stmt per query text. database/sql prepares a
// Stmt lazily on each pooled connection it runs on and keeps it there, so
// after warm-up a query is parsed once per connection instead of on every
// call: on SQLite, parsing (sqlite3_prepare) was ~10% of the CPU of a
// refresh-token redemption, more than executing its statements.
type stmtCache struct {
	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
	bg      sync.WaitGroup // the background prepares, waited for by close
}

// get returns the prepared statement of query, preparing it on first use;
// nil when query is not a single DML statement (migrations, SAVEPOINT),
// the cache is full, or preparing fails (the caller then runs the query
// unprepared and reports its error).
//
// Preparing takes a connection from the pool. A caller inside a
// transaction already holds one, and on SQLite the other connections may
// all be waiting for that transaction's write lock: waiting for the pool
// there would deadlock until busy_timeout. So inTx callers never wait: a
// statement not prepared yet is prepared in the background, and this call
// runs unprepared.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string, inTx bool) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	c.mu.RUnlock()
	if ok || !cacheable(query) {
		return st
	}
	if inTx {
		c.mu.Lock()
		start := !c.closed && !c.pending[query] && len(c.stmts) < stmtCacheMax
		if start {
			if c.pending == nil {
				c.pending = map[string]bool{}
			}
			c.pending[query] = true
			c.bg.Add(1) // under the lock: close cannot miss it
		}
		c.mu.Unlock()
		if start {
			go func() {
				defer c.bg.Done()
				c.prepare(context.WithoutCancel(ctx), db, query)
			}()
		}
		return nil
	}
	return c.prepare(context.WithoutCancel(ctx), db, query)
}

// prepare prepares query on the database (not in a transaction: the
// statement outlives the caller, hence no cancellation either) and keeps
// it. The lock is not held while preparing, which may wait for a pooled
// connection.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	st, err := db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return nil
	}
	if have, ok := c.stmts[query]; ok || c.closed || len(c.stmts) >= stmtCacheMax {
		st.Close() // another caller won, or no room
		return have
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st
}

// cacheable reports whether query is one statement of SELECT, INSERT,
// UPDATE or DELETE: what the store runs over and over. Migrations (DDL,
// several statements) and savepoints run as they are.
func cacheable(query string) bool {
	if strings.Contains(query, ";") {
		return false
	}
	verb, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	switch strings.ToUpper(verb) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// close closes the statements, once the background prepares are done (a
// prepare racing the database's close could open a connection and, closing
// it last, remove the WAL under a caller that thinks the files are free).
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.bg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}
