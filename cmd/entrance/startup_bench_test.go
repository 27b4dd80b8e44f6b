package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/sealbox"
)

// BenchmarkServeColdStart measures `entrance serve` on an existing embedded
// SQLite database from exec to a 200 from /readyz (ms/start), and the resident
// memory of the idle server after it has answered (idle-RSS-MiB).
//
//	go test -run '^$' -bench ServeColdStart -benchtime 10x ./cmd/entrance
func BenchmarkServeColdStart(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "entrance")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "ENTRANCE_MASTER_KEY="+sealbox.GenerateMasterKey(), "ENTRANCE_DATA="+filepath.Join(dir, "data"))
	// The first start creates the database, the development CA, the demo
	// directory and its keys; it is not measured.
	if out, err := runApply(bin, env); err != nil {
		b.Fatalf("seed: %v\n%s", err, out)
	}
	startServe(b, bin, env).stop()

	var total time.Duration
	var rssKiB int
	for i := 0; i < b.N; i++ {
		p := startServe(b, bin, env)
		total += p.ready
		if i == b.N-1 {
			time.Sleep(time.Second) // idle
			rssKiB = vmRSS(b, p.cmd.Process.Pid)
		}
		p.stop()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
	b.ReportMetric(float64(rssKiB)/1024, "idle-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

// runApply seeds a small directory (one tenant, one user, one app).
func runApply(bin string, env []string) ([]byte, error) {
	file := filepath.Join(filepath.Dir(valueOf(env, "ENTRANCE_DATA")), "directory.yaml")
	const yaml = `tenants:
  - id: 8eaef023-2b34-4da1-9baa-8bc8c9d6a490
    displayName: Contoso
    type: aad
    domains: [contoso.onmicrosoft.com]
    users:
      - {userPrincipalName: abeli@contoso.onmicrosoft.com, displayName: Abe Lincoln, password: "Correct-Horse-9"}
    applications:
      - {appId: 6e74172b-be56-4843-9ff4-e66a39bb12e3, displayName: Web app}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	c := exec.Command(bin, "apply", "-f", file)
	c.Env = env
	return c.CombinedOutput()
}

func valueOf(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

type serveProc struct {
	cmd   *exec.Cmd
	ready time.Duration
}

func (p serveProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
}

// startServe starts the binary on a free loopback port and waits for /readyz.
func startServe(tb testing.TB, bin string, env []string) serveProc {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Env = env
	stderr, _ := cmd.StderrPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	// Wait for the "serving" log line, then confirm readiness over HTTPS.
	lines := bufio.NewScanner(stderr)
	var log strings.Builder
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "msg=serving") {
			break
		}
	}
	go func() {
		for lines.Scan() {
		}
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return serveProc{cmd: cmd, ready: time.Since(start)}
			}
		}
		if ctx.Err() != nil {
			_ = cmd.Process.Kill()
			tb.Fatalf("server at %s not ready: %v\n%s", addr, err, log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// vmRSS reads a process's resident set size in KiB from /proc.
func vmRSS(tb testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}
