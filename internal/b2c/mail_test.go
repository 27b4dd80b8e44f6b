package b2c

import (
	"context"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// fakeSMTP is a minimal SMTP server (no TLS, no auth) that records one
// message: enough to see what the sender says, in order.
func fakeSMTP(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		tp := textproto.NewConn(c)
		var log strings.Builder
		_ = tp.PrintfLine("220 fake ESMTP")
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.Fields(line + " x")[0])
			switch cmd {
			case "EHLO", "HELO":
				_ = tp.PrintfLine("250-fake\r\n250 8BITMIME")
			case "MAIL", "RCPT":
				log.WriteString(line + "\n")
				_ = tp.PrintfLine("250 ok")
			case "DATA":
				_ = tp.PrintfLine("354 go on")
				data, _ := tp.ReadDotLines()
				log.WriteString(strings.Join(data, "\n"))
				_ = tp.PrintfLine("250 queued")
			case "QUIT":
				_ = tp.PrintfLine("221 bye")
				out <- log.String()
				return
			default:
				_ = tp.PrintfLine("502 no")
			}
		}
	}()
	return ln.Addr().String(), out
}

func TestSMTPSender(t *testing.T) {
	addr, got := fakeSMTP(t)
	s, err := ParseSMTPURL("smtp://"+addr, "no-reply@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendCode(context.Background(), CodeMail{To: "jane@example.com", Code: "123456", Tenant: "Contoso B2C"}); err != nil {
		t.Fatal(err)
	}
	msg := <-got
	for _, want := range []string{"MAIL FROM:<no-reply@contoso.example>", "RCPT TO:<jane@example.com>", "To: jane@example.com",
		"Subject: Contoso B2C account email verification code", "Your code is: 123456"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if err := s.SendCode(context.Background(), CodeMail{To: "a@b.c\r\nBcc: x@y.z", Code: "1"}); err == nil {
		t.Error("a recipient with a line break was accepted")
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url, from string
		want      SMTPSender // Addr, From, Username, Password, ImplicitTLS
		err       bool
	}{
		{"smtp://mail.example.com", "a@example.com", SMTPSender{Addr: "mail.example.com:587", From: "a@example.com"}, false},
		{"smtps://u%40x:p%3Ass@mail.example.com", "a@example.com", SMTPSender{Addr: "mail.example.com:465", From: "a@example.com", Username: "u@x", Password: "p:ss", ImplicitTLS: true}, false},
		{"smtp://mail.example.com:2525", "a@example.com", SMTPSender{Addr: "mail.example.com:2525", From: "a@example.com"}, false},
		{"http://mail.example.com", "a@example.com", SMTPSender{}, true},
		{"smtp://mail.example.com", "", SMTPSender{}, true},
		{"smtp://mail.example.com", "a@example.com\r\nBcc: b@c.d", SMTPSender{}, true},
	}
	for _, tt := range tests {
		s, err := ParseSMTPURL(tt.url, tt.from)
		if tt.err {
			if err == nil {
				t.Errorf("%s: accepted", tt.url)
			}
			continue
		}
		if err != nil || *s != tt.want {
			t.Errorf("%s: %+v %v", tt.url, s, err)
		}
	}
}

func TestSixDigits(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := sixDigits()
		if err != nil || len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct codes in 200", len(seen))
	}
}
