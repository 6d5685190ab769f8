// s3-server: the S3-compatible server the integration tests write BucketStateStores to. The S3 API
// itself is gofakes3 (in-memory backend); this file adds what a real endpoint does and gofakes3
// does not: every request must carry an AWS Signature V4 made with the configured key pair, else
// 403 InvalidAccessKeyId / SignatureDoesNotMatch / AccessDenied, as S3 answers.
//
// Built by scripts/build-infra.sh (target s3-server) with a pinned gofakes3.
// Usage: s3-server -listen 127.0.0.1:0 -access-key K -secret-key S [-bucket name ...]
// Prints "listening on http://HOST:PORT" once it accepts connections.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

type bucketList []string

func (b *bucketList) String() string     { return strings.Join(*b, ",") }
func (b *bucketList) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	accessKey := flag.String("access-key", "", "the one access key id accepted (required)")
	secretKey := flag.String("secret-key", "", "its secret access key (required)")
	var buckets bucketList
	flag.Var(&buckets, "bucket", "a bucket to create at start (repeatable)")
	flag.Parse()
	if *accessKey == "" || *secretKey == "" {
		fmt.Fprintln(os.Stderr, "s3-server: -access-key and -secret-key are required")
		os.Exit(2)
	}
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			log.Fatalf("create bucket %s: %v", b, err)
		}
	}
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning())
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	handler := &sigV4{accessKey: *accessKey, secretKey: *secretKey, next: faker.Server()}
	log.Fatal(http.Serve(ln, handler))
}

type sigV4 struct {
	accessKey, secretKey string
	next                 http.Handler
}

type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

func deny(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	_ = xml.NewEncoder(w).Encode(s3Error{Code: code, Message: message})
}

func (s *sigV4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		deny(w, "AccessDenied", "Access Denied: the request is not signed with AWS Signature V4")
		return
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			fields[k] = v
		}
	}
	scope := strings.Split(fields["Credential"], "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		deny(w, "AccessDenied", "Access Denied: malformed Authorization header")
		return
	}
	if scope[0] != s.accessKey {
		deny(w, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		return
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canonHeaders strings.Builder
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = fmt.Sprint(r.ContentLength)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		canonHeaders.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "UNSIGNED-PAYLOAD"
	}
	canonical := strings.Join([]string{
		r.Method,
		canonicalPath(r.URL),
		canonicalQuery(r.URL.Query()),
		canonHeaders.String(),
		fields["SignedHeaders"],
		payload,
	}, "\n")
	amzDate := r.Header.Get("X-Amz-Date")
	credScope := strings.Join(scope[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credScope + "\n" + hexSHA256(canonical)
	key := []byte("AWS4" + s.secretKey)
	for _, p := range scope[1:] {
		key = hmacSHA256(key, p)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		deny(w, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	s.next.ServeHTTP(w, r)
}

// S3 signs the path as sent (each segment escaped once, slashes kept).
func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		raw, err := url.PathUnescape(seg)
		if err != nil {
			raw = seg
		}
		segs[i] = escape(raw)
	}
	return strings.Join(segs, "/")
}

// Sorted by escaped key, then escaped value.
func canonicalQuery(q url.Values) string {
	var pairs [][2]string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, [2]string{escape(k), escape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p[0] + "=" + p[1]
	}
	return strings.Join(out, "&")
}

// RFC 3986 escaping: everything but unreserved characters.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hexSHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
