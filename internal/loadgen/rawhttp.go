package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// RawClient is a minimal HTTP/1.1 keep-alive client over TLS: one connection
// per worker, a prebuilt request written with one write, the response parsed
// just enough to find its end. It does for a load run what wrk does: keep the
// load generator's own cost per request far below the server's, so that on a
// shared 2-core machine the numbers measure the server (net/http's client
// spends about as much CPU per request as the server it is measuring).
type RawClient struct {
	addr    string
	tlsCfg  *tls.Config
	timeout time.Duration

	mu    sync.Mutex
	conns map[int]*rawConn
}

type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

// NewRawClient returns a client for the https (or http) origin of baseURL.
// tlsCfg may be nil for plain http.
func NewRawClient(baseURL string, tlsCfg *tls.Config) (*RawClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443", "http": "80"}[u.Scheme])
	}
	if u.Scheme == "http" {
		tlsCfg = nil
	} else if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	if tlsCfg != nil {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.NextProtos = []string{"http/1.1"}
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = u.Hostname()
		}
	}
	return &RawClient{addr: addr, tlsCfg: tlsCfg, timeout: 30 * time.Second, conns: map[int]*rawConn{}}, nil
}

// BuildRequest returns the bytes of an HTTP/1.1 request for host.
func BuildRequest(method, host, path string, header map[string]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: entrance-bench\r\n", method, path, host)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// Do sends req (from BuildRequest) on worker's connection, dialling it if
// needed, and returns the status code; the body is written to body if not nil
// and discarded otherwise.
func (c *RawClient) Do(ctx context.Context, worker int, req []byte, body io.Writer) (int, error) {
	conn, err := c.conn(ctx, worker)
	if err != nil {
		return 0, err
	}
	_ = conn.c.SetDeadline(time.Now().Add(c.timeout))
	status, keep, err := roundTrip(conn, req, body)
	if err != nil || !keep {
		c.drop(worker)
	}
	return status, err
}

// Get returns a Request that GETs path and expects a 200.
func (c *RawClient) Get(path string) Request {
	req := BuildRequest("GET", c.host(), path, nil, nil)
	return func(ctx context.Context, worker int) error {
		status, err := c.Do(ctx, worker, req, nil)
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("GET %s: status %d", path, status)
		}
		return nil
	}
}

func (c *RawClient) host() string {
	if c.tlsCfg != nil && c.tlsCfg.ServerName != "" {
		_, port, _ := net.SplitHostPort(c.addr)
		if port == "443" {
			return c.tlsCfg.ServerName
		}
		return net.JoinHostPort(c.tlsCfg.ServerName, port)
	}
	return c.addr
}

func (c *RawClient) conn(ctx context.Context, worker int) (*rawConn, error) {
	c.mu.Lock()
	rc := c.conns[worker]
	c.mu.Unlock()
	if rc != nil {
		return rc, nil
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var nc net.Conn
	var err error
	if c.tlsCfg != nil {
		td := tls.Dialer{NetDialer: &d, Config: c.tlsCfg}
		nc, err = td.DialContext(ctx, "tcp", c.addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return nil, err
	}
	rc = &rawConn{c: nc, r: bufio.NewReaderSize(nc, 16<<10)}
	c.mu.Lock()
	c.conns[worker] = rc
	c.mu.Unlock()
	return rc, nil
}

func (c *RawClient) drop(worker int) {
	c.mu.Lock()
	if rc := c.conns[worker]; rc != nil {
		rc.c.Close()
		delete(c.conns, worker)
	}
	c.mu.Unlock()
}

// Close closes every connection.
func (c *RawClient) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w, rc := range c.conns {
		rc.c.Close()
		delete(c.conns, w)
	}
}

var errMalformed = errors.New("loadgen: malformed HTTP response")

// roundTrip writes req and reads one response: status line, headers, then a
// Content-Length or chunked body.
func roundTrip(conn *rawConn, req []byte, body io.Writer) (status int, keepAlive bool, err error) {
	if _, err := conn.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := conn.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, errMalformed
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errMalformed
	}
	length, chunked, keepAlive := -1, false, true
	for {
		h, err := conn.r.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return status, false, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	if body == nil {
		body = io.Discard
	}
	switch {
	case chunked:
		for {
			sizeLine, err := conn.r.ReadSlice('\n')
			if err != nil {
				return status, false, err
			}
			sizeHex, _, _ := bytes.Cut(bytes.TrimRight(sizeLine, "\r\n"), []byte(";"))
			size, err := strconv.ParseInt(string(sizeHex), 16, 64)
			if err != nil {
				return status, false, errMalformed
			}
			if _, err := io.CopyN(body, conn.r, size+2); err != nil { // data + CRLF
				return status, false, err
			}
			if size == 0 {
				return status, keepAlive, nil
			}
		}
	case length >= 0:
		_, err = io.CopyN(body, conn.r, int64(length))
		return status, keepAlive, err
	default:
		return status, false, errMalformed // we never send requests whose responses run to EOF
	}
}
