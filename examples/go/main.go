// A login endpoint protected by the tollgate middleware (the examples' runner starts it).
// Env: TOLLGATE_SECRET, TOLLGATE_VERIFIER_URL, TOLLGATE_EXPECTED_ACTION (default `login`; empty:
// any), LISTEN (default 127.0.0.1:0). Prints
// `listening on http://HOST:PORT` once the socket is bound.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"tollgate.example/gomiddleware/tollgate"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// The action to require: TOLLGATE_EXPECTED_ACTION when set (empty: any), else "login".
func expectedAction() string {
	if v, ok := os.LookupEnv("TOLLGATE_EXPECTED_ACTION"); ok {
		return v
	}
	return "login"
}

func main() {
	protect := tollgate.Middleware(tollgate.Config{
		Secret:         os.Getenv("TOLLGATE_SECRET"),
		VerifierURL:    env("TOLLGATE_VERIFIER_URL", "http://127.0.0.1:8787"),
		ExpectedAction: expectedAction(),
	})
	mux := http.NewServeMux()
	mux.Handle("/login", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Tollgate let the attempt through: check the password here; on `challenge`, ask for a
		// second factor first.
		v, _ := tollgate.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "decision": v.Decision, "score": v.Score, "id": v.ID})
	})))
	ln, err := net.Listen("tcp", env("LISTEN", "127.0.0.1:0"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
		<-stop
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
