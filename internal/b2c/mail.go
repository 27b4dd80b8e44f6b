package b2c

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Sender delivers email verification codes.
type Sender interface {
	SendCode(ctx context.Context, m CodeMail) error
}

// CodeMail is one verification code to deliver.
type CodeMail struct {
	To, Code string
	// Tenant is the B2C tenant's display name, which the mail names.
	Tenant string
}

func (m CodeMail) subject() string { return m.Tenant + " account email verification code" }

func (m CodeMail) body() string {
	return "Verify your email address\r\n\r\nThanks for verifying your " + m.To + " account!\r\n\r\nYour code is: " +
		m.Code + "\r\n\r\nSincerely,\r\n" + m.Tenant + "\r\n"
}

// LogSender writes codes to the log instead of sending them: for
// development and tests, or a server without SMTP, whose operator reads
// the codes from its log.
type LogSender struct{ Logger *slog.Logger }

// SendCode logs the code.
func (s LogSender) SendCode(ctx context.Context, m CodeMail) error {
	s.Logger.InfoContext(ctx, "B2C email verification code (not mailed: no SMTP server is configured)", "to", m.To, "code", m.Code)
	return nil
}

// SMTPSender sends codes by SMTP (net/smtp): STARTTLS when the server
// offers it (required when authenticating), or TLS from the first byte for
// smtps:// URLs.
type SMTPSender struct {
	// Addr is host:port; From the sender address.
	Addr, From string
	// Username and Password, when set, authenticate with PLAIN.
	Username, Password string
	// ImplicitTLS connects with TLS from the start (port 465).
	ImplicitTLS bool
	// TLS is the client TLS configuration (nil: the system's roots).
	TLS *tls.Config
	// Timeout bounds one delivery (default 30 seconds).
	Timeout time.Duration
}

// ParseSMTPURL reads smtp://[user:password@]host[:port] (STARTTLS, port 587
// by default) or smtps://... (TLS, port 465) into a sender from from.
func ParseSMTPURL(raw, from string) (*SMTPSender, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Path != "" && u.Path != "/" {
		return nil, errors.New("want smtp://[user:password@]host[:port] or smtps://...")
	}
	if from == "" || !strings.Contains(from, "@") || strings.ContainsAny(from, "\r\n<>") {
		return nil, errors.New("a sender address (--smtp-from) is required")
	}
	s := &SMTPSender{Addr: u.Host, From: from, ImplicitTLS: u.Scheme == "smtps"}
	if u.Port() == "" {
		port := "587"
		if s.ImplicitTLS {
			port = "465"
		}
		s.Addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// SendCode sends the code.
func (s *SMTPSender) SendCode(ctx context.Context, m CodeMail) error {
	if strings.ContainsAny(m.To, "\r\n") {
		return errors.New("smtp: bad recipient")
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.Addr)
	tlsCfg := s.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsCfg = tlsCfg.Clone()
	tlsCfg.ServerName = host

	var conn net.Conn
	var err error
	if s.ImplicitTLS {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !s.ImplicitTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	if s.Username != "" {
		// PlainAuth refuses to send the password without TLS (but to localhost).
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	msg := "From: " + s.From + "\r\nTo: " + m.To + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", m.subject()) +
		"\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + m.body()
	if _, err := wc.Write([]byte(msg)); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return c.Quit()
}
