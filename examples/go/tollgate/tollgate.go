// Package tollgate is net/http middleware for Tollgate: it verifies the token a login form posts
// (`tollgate-response`) with the verifier's siteverify, and refuses the request unless Tollgate
// lets it through. Standard library only.
//
//	mux.Handle("/login", tollgate.Middleware(tollgate.Config{
//		Secret: os.Getenv("TOLLGATE_SECRET"), VerifierURL: "http://127.0.0.1:8787",
//	})(loginHandler))
//
// A request passes when siteverify answers `success: true` and the decision is not `block` (a
// site configured with `success_when = "valid"` answers `success: true` for every genuine token,
// so the decision is checked here too); the handler reads the verdict with FromContext. Anything
// else is refused with a JSON `{"error": ...}`:
//
//	400 tollgate-missing          no token in the form (the widget could not make one)
//	403 tollgate-invalid          forged, malformed, or for another site/origin/action
//	403 tollgate-expired-or-used  expired or already redeemed (the widget makes a new one)
//	403 tollgate-challenge        decision `challenge` refused by the site's `success_when = "allow"`
//	403 tollgate-blocked          decision `block`
//	500 tollgate-misconfigured    wrong secret or a request the verifier could not read
//	503 tollgate-unavailable      verifier down, slow, or answering anything but a verdict:
//	                              FAIL CLOSED (a login is never let through unverified)
package tollgate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config of the middleware. Secret and VerifierURL are required.
type Config struct {
	Secret      string
	VerifierURL string
	// Timeout of the siteverify call (default 5 s); past it the request fails closed.
	Timeout time.Duration
	// ExpectedAction, when set, refuses tokens made for another `data-action`.
	ExpectedAction string
	// Field holding the token (default "tollgate-response"); AccountField the username tried
	// (default "username"; "-" for none).
	Field        string
	AccountField string
	// Client for siteverify (default: a client with Timeout).
	Client *http.Client
}

// Verdict is what the handler gets from FromContext.
type Verdict struct {
	ID       string
	Decision string // "allow" or "challenge" (ask for a second factor)
	Score    float64
	Reasons  []string
	Hostname string
	Action   string
}

type siteverifyAnswer struct {
	Success    bool     `json:"success"`
	ErrorCodes []string `json:"error-codes"`
	Hostname   string   `json:"hostname"`
	Action     string   `json:"action"`
	Tollgate   struct {
		ID       *string  `json:"id"`
		Score    float64  `json:"score"`
		Decision string   `json:"decision"`
		Reasons  []string `json:"reasons"`
	} `json:"tollgate"`
}

type refusalT struct {
	status int
	err    string
}

var refusals = map[string]refusalT{
	"missing-input-response":      {400, "tollgate-missing"},
	"invalid-input-response":      {403, "tollgate-invalid"},
	"timeout-or-duplicate":        {403, "tollgate-expired-or-used"},
	"tollgate-decision-challenge": {403, "tollgate-challenge"},
	"tollgate-decision-block":     {403, "tollgate-blocked"},
	"missing-input-secret":        {500, "tollgate-misconfigured"},
	"invalid-input-secret":        {500, "tollgate-misconfigured"},
	"bad-request":                 {500, "tollgate-misconfigured"},
	"internal-error":              {503, "tollgate-unavailable"},
}

func refusal(a *siteverifyAnswer) refusalT {
	for _, c := range a.ErrorCodes {
		if r, ok := refusals[c]; ok {
			return r
		}
	}
	if a.Tollgate.Decision == "block" {
		return refusals["tollgate-decision-block"]
	}
	return refusalT{403, "tollgate-invalid"}
}

type ctxKey struct{}

// FromContext returns the verdict of a request the middleware let through.
func FromContext(ctx context.Context) (Verdict, bool) {
	v, ok := ctx.Value(ctxKey{}).(Verdict)
	return v, ok
}

func refuse(w http.ResponseWriter, status int, code string, reasons []string) {
	if reasons == nil {
		reasons = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "reasons": reasons})
}

// Middleware wraps a handler with the Tollgate check. It panics on a Config without Secret or
// VerifierURL (a start-up error, not a request-time one).
func Middleware(cfg Config) func(http.Handler) http.Handler {
	if cfg.Secret == "" || cfg.VerifierURL == "" {
		panic("tollgate.Middleware: Secret and VerifierURL are required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Field == "" {
		cfg.Field = "tollgate-response"
	}
	if cfg.AccountField == "" {
		cfg.AccountField = "username"
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	endpoint := strings.TrimRight(cfg.VerifierURL, "/") + "/v1/siteverify"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Bounded form read (a Tollgate token is at most 32 KiB).
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				refuse(w, http.StatusBadRequest, "tollgate-missing", nil)
				return
			}
			fields := url.Values{"secret": {cfg.Secret}, "response": {r.PostFormValue(cfg.Field)}}
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				fields.Set("remoteip", host)
			}
			if cfg.AccountField != "-" {
				if a := r.PostFormValue(cfg.AccountField); a != "" {
					fields.Set("account", a)
				}
			}
			answer, err := siteverify(r.Context(), client, cfg.Timeout, endpoint, fields)
			if err != nil {
				log.Printf("tollgate: verifier unavailable: %v", err)
				refuse(w, http.StatusServiceUnavailable, "tollgate-unavailable", nil)
				return
			}
			t := answer.Tollgate
			pass := answer.Success && (t.Decision == "allow" || t.Decision == "challenge") &&
				(cfg.ExpectedAction == "" || answer.Action == cfg.ExpectedAction)
			if !pass {
				ref := refusalT{403, "tollgate-invalid"}
				if !answer.Success {
					ref = refusal(answer)
				} else if t.Decision == "block" {
					ref = refusalT{403, "tollgate-blocked"}
				}
				refuse(w, ref.status, ref.err, t.Reasons)
				return
			}
			v := Verdict{Decision: t.Decision, Score: t.Score, Reasons: t.Reasons,
				Hostname: answer.Hostname, Action: answer.Action}
			if t.ID != nil {
				v.ID = *t.ID
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, v)))
		})
	}
}

func siteverify(ctx context.Context, client *http.Client, timeout time.Duration, endpoint string, fields url.Values) (*siteverifyAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(fields.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("siteverify answered HTTP %d", resp.StatusCode)
	}
	var a siteverifyAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return nil, fmt.Errorf("siteverify answer: %w", err)
	}
	return &a, nil
}
