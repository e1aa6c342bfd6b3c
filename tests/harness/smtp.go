package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server on loopback that keeps every message it
// is handed, standing in for the mail relay an Alertmanager sends to.
type SMTPServer struct {
	// Addr is host:port, the value for an smtp_smarthost.
	Addr string

	username, password string

	mu   sync.Mutex
	mail []Mail
}

// Mail is one message the server accepted.
type Mail struct {
	// From and To are the SMTP envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Username is who authenticated ("" without AUTH).
	Username string
	Header   mail.Header
	// Subject is the decoded Subject header.
	Subject string
	// Body is the decoded text of every MIME part, concatenated.
	Body string
}

// SentTo tells whether addr is one of the envelope recipients.
func (m Mail) SentTo(addr string) bool {
	for _, to := range m.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}

// StartSMTPServer starts the server. With a username, it offers AUTH PLAIN
// over the plaintext loopback connection and refuses mail from a client
// that has not authenticated with exactly username and password, so a test
// sees that credentials arrive; without one, it accepts anyone.
func StartSMTPServer(t testing.TB, username, password string) *SMTPServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Addr: l.Addr().String(), username: username, password: password}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s}, nil
	}))
	srv.Domain = "localhost"
	// Loopback only: credentials never leave the machine.
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Mail returns the messages accepted so far.
func (s *SMTPServer) Mail() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

// MailTo returns the messages accepted so far for addr.
func (s *SMTPServer) MailTo(addr string) []Mail {
	var out []Mail
	for _, m := range s.Mail() {
		if m.SentTo(addr) {
			out = append(out, m)
		}
	}
	return out
}

type smtpSession struct {
	server   *SMTPServer
	username string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) AuthMechanisms() []string {
	if s.server.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || s.server.username == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.server.username || password != s.server.password {
			return errors.New("invalid username or password")
		}
		s.username = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.username != "" && s.username == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parseMail(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparsable message: " + err.Error()}
	}
	m.From, m.To, m.Username = s.from, append([]string(nil), s.to...), s.username
	s.server.mu.Lock()
	s.server.mail = append(s.server.mail, m)
	s.server.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() { s.from, s.to = "", nil }

func (s *smtpSession) Logout() error { return nil }

func parseMail(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, fmt.Errorf("subject: %w", err)
	}
	body, err := decodeBody(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return Mail{}, err
	}
	return Mail{Header: msg.Header, Subject: subject, Body: body}, nil
}

// decodeBody undoes what an Alertmanager's mail carries: a
// multipart/alternative body whose parts are quoted-printable.
func decodeBody(contentType, encoding string, r io.Reader) (string, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		var parts []string
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return strings.Join(parts, "\n"), nil
			}
			if err != nil {
				return "", fmt.Errorf("multipart: %w", err)
			}
			text, err := decodeBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if err != nil {
				return "", err
			}
			parts = append(parts, text)
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}
