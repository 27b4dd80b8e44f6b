package e2e

// Helpers for the tests that run Entrance as separate processes, the way it
// is deployed: the `entrance` binary built once per test run, replicas
// started and stopped (or killed) as processes, and a TCP proxy that stands
// in for a load balancer in front of them or for the network to the
// database (switched, cut, stalled).

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// entranceBinary builds cmd/entrance once per test binary and returns its path.
func entranceBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "entrance-e2e-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "entrance")
		out, err := exec.Command("go", "build", "-o", binary.path, "github.com/entranceidp/entrance/cmd/entrance").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replica is one `entrance serve` process.
type replica struct {
	name    string
	addr    string // where it listens, 127.0.0.1:port
	dataDir string
	bin     string
	env     []string
	args    []string
	logs    *syncBuffer // stderr of every run, appended
	cmd     *exec.Cmd
	done    chan struct{}
}

// newReplica prepares a replica listening on its own port, with its own
// data directory (its own development CA), and extra serve flags.
func newReplica(t testing.TB, name string, env []string, args ...string) *replica {
	r := &replica{
		name: name, addr: freeAddr(t), dataDir: filepath.Join(t.TempDir(), name),
		bin: entranceBinary(t), env: env, logs: &syncBuffer{},
	}
	r.args = append([]string{"serve", "--listen", r.addr, "--data-dir", r.dataDir}, args...)
	t.Cleanup(r.stop)
	return r
}

// start runs the process; waitReady waits for its /readyz.
func (r *replica) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(r.bin, r.args...)
	cmd.Env = r.env
	cmd.Stdout = r.logs
	cmd.Stderr = r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(r.done)
}

func (r *replica) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			t.Fatalf("replica %s exited: %s\n%s", r.name, r.cmd.ProcessState, r.logs)
		default:
		}
		if last = r.ready(); last == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replica %s not ready: %v\n%s", r.name, last, r.logs)
}

// ready asks /readyz directly (not through a proxy).
func (r *replica) ready() error {
	client, err := r.client()
	if err != nil {
		return err
	}
	resp, err := client.Get("https://" + r.addr + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	return nil
}

// caPEM is the replica's development CA certificate.
func (r *replica) caPEM() ([]byte, error) {
	return os.ReadFile(filepath.Join(r.dataDir, "tls", "ca.pem"))
}

// client talks to this replica directly, trusting its CA.
func (r *replica) client() (*http.Client, error) {
	ca, err := r.caPEM()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// kill ends the process with SIGKILL: no shutdown, no flushing.
func (r *replica) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// stop ends the process gracefully (SIGINT), or kills it after a while.
func (r *replica) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// runCLI runs an entrance command to completion and returns its stdout.
func runCLI(t testing.TB, env []string, args ...string) string {
	t.Helper()
	out, err := runCLIErr(env, args...)
	if err != nil {
		t.Fatalf("entrance %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func runCLIErr(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary.path, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// tcpProxy forwards TCP connections to a target that the test switches
// (Route), and stands in for a network failure: Cut resets every connection
// and refuses new ones (a database that is down), Stall stops forwarding
// without closing anything (a partition: callers see nothing but silence),
// Restore heals either.
type tcpProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	cond   *sync.Cond
	target string
	cut    bool
	stall  bool
	closed bool
	conns  map[net.Conn]struct{}
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

// Route sends new connections to target, and closes the live ones so that
// clients keeping connections alive come back through the new route.
func (p *tcpProxy) Route(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target != target {
		p.target = target
		p.dropLocked()
	}
}

// Cut resets every connection and refuses new ones until Restore.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.dropLocked()
}

// Stall stops moving bytes, both on live connections and on new ones
// (accepted, never answered), until Restore.
func (p *tcpProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stall = true
}

// Restore forwards again. Connections held by a stall are dropped (their
// peers have long timed out); live ones resume.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.stall = false, false
	p.cond.Broadcast()
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed, p.stall = true, false
	p.dropLocked()
	p.cond.Broadcast()
}

func (p *tcpProxy) dropLocked() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *tcpProxy) forward(c net.Conn) {
	p.mu.Lock()
	if p.cut || p.closed {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = struct{}{}
	for p.stall { // hold the connection, say nothing
		p.cond.Wait()
	}
	target := p.target
	if _, live := p.conns[c]; !live || p.cut || p.closed {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()

	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if _, live := p.conns[c]; !live {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	go p.pipe(up, c)
	p.pipe(c, up)
}

// pipe copies src to dst, holding data back while the proxy is stalled.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stall {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
