package providersim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/openrunner/openrunner/internal/providersim"
)

// Example shows a GitHub App handshake as OpenRunner's tests drive it: the
// user installs the app and authorizes it, the server exchanges the code
// and verifies that the installation belongs to the user.
func Example() {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	sim := providersim.New(providersim.Options{})
	defer sim.Close()
	sim.AddGitHubApp(providersim.GitHubApp{
		ID: 1, Slug: "openrunner", ClientID: "Iv23liExample", ClientSecret: "secret",
		PublicKey: &key.PublicKey, CallbackURLs: []string{"https://openrunner.test/cb"},
		RequestOAuthOnInstall: true,
	})

	// The browser part: install, then authorize (a headless browser
	// would click #approve on each page instead).
	next, _ := sim.Consent(sim.GitHubURL()+"/apps/openrunner/installations/new", true, "")
	callback, _ := sim.Consent(next.String(), true, "")
	fmt.Println("installation:", callback.Query().Get("installation_id") != "")

	// The server part: exchange the code, list the user's installations.
	resp, _ := http.PostForm(sim.GitHubURL()+"/login/oauth/access_token", url.Values{
		"client_id": {"Iv23liExample"}, "client_secret": {"secret"}, "code": {callback.Query().Get("code")},
	})
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form, _ := url.ParseQuery(string(raw))
	fmt.Println("token type:", form.Get("token_type"))

	req, _ := http.NewRequest("GET", sim.GitHubAPIURL()+"/user/installations", nil)
	req.Header.Set("Authorization", "Bearer "+form.Get("access_token"))
	resp, _ = http.DefaultClient.Do(req)
	var list struct {
		TotalCount int `json:"total_count"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	fmt.Println("installations:", list.TotalCount)
	// Output:
	// installation: true
	// token type: bearer
	// installations: 1
}
