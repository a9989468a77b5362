package e2e_test

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// secretClients returns Secrets Manager and SSM clients of the real AWS SDK
// aimed at an OpenRunner server.
func secretClients(url string) (*secretsmanager.Client, *ssm.Client) {
	creds := credentials.NewStaticCredentialsProvider(daemon.DefaultAccessKeyID, daemon.DefaultSecretAccessKey, "")
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds})
	ps := ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds})
	return sm, ps
}

var secretARN = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-[A-Za-z0-9]{6}$`)

func TestSecretsManagerAPI(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "none"})
	sm, _ := secretClients(d.URL())

	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("db-creds"),
		SecretString: aws.String(`{"username":"app","password":"first"}`), Description: aws.String("database"),
		Tags: []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	if !secretARN.MatchString(aws.ToString(created.ARN)) || aws.ToString(created.VersionId) == "" {
		t.Fatalf("CreateSecret = %+v", created)
	}
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("db-creds"), SecretString: aws.String("x")})
	wantAPIError(t, err, "ResourceExistsException")

	// PutSecretValue moves AWSCURRENT, and the old version becomes AWSPREVIOUS.
	put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String(`{"username":"app","password":"second"}`)})
	if err != nil || !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("PutSecretValue = %+v, %v", put, err)
	}
	for _, tc := range []struct{ stage, want, version string }{
		{"", `{"username":"app","password":"second"}`, aws.ToString(put.VersionId)},
		{"AWSPREVIOUS", `{"username":"app","password":"first"}`, aws.ToString(created.VersionId)},
	} {
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String("db-creds")}
		if tc.stage != "" {
			in.VersionStage = aws.String(tc.stage)
		}
		got, err := sm.GetSecretValue(ctx, in)
		if err != nil || aws.ToString(got.SecretString) != tc.want || aws.ToString(got.VersionId) != tc.version || aws.ToString(got.ARN) != aws.ToString(created.ARN) {
			t.Fatalf("GetSecretValue(%q) = %+v, %v", tc.stage, got, err)
		}
	}
	byID, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN, VersionId: created.VersionId})
	if err != nil || aws.ToString(byID.SecretString) != `{"username":"app","password":"first"}` {
		t.Fatalf("GetSecretValue by VersionId = %+v, %v", byID, err)
	}
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN, VersionStage: aws.String("NOPE")})
	wantAPIError(t, err, "ResourceNotFoundException")

	desc, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: created.ARN})
	if err != nil || len(desc.VersionIdsToStages) != 2 || aws.ToString(desc.Description) != "database" || len(desc.Tags) != 1 {
		t.Fatalf("DescribeSecret = %+v, %v", desc, err)
	}

	// Binary secrets, UpdateSecret, ListSecrets with a filter and pages.
	bin := []byte{0, 1, 2, 255}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("tls-key"), SecretBinary: bin}); err != nil {
		t.Fatal(err)
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("tls-key")})
	if err != nil || !bytes.Equal(got.SecretBinary, bin) || got.SecretString != nil {
		t.Fatalf("binary GetSecretValue = %+v, %v", got, err)
	}
	if _, err := sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("tls-key"), Description: aws.String("key")}); err != nil {
		t.Fatal(err)
	}
	list, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"tls"}}}})
	if err != nil || len(list.SecretList) != 1 || aws.ToString(list.SecretList[0].Description) != "key" {
		t.Fatalf("ListSecrets(name=tls) = %+v, %v", list, err)
	}
	page, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(1)})
	if err != nil || len(page.SecretList) != 1 || page.NextToken == nil {
		t.Fatalf("ListSecrets page 1 = %+v, %v", page, err)
	}
	page2, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || len(page2.SecretList) != 1 || aws.ToString(page2.SecretList[0].Name) != "tls-key" {
		t.Fatalf("ListSecrets page 2 = %+v, %v", page2, err)
	}

	// Tags.
	if _, err := sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("tls-key"), Tags: []smtypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String("tls-key"), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}

	// DeleteSecret: the recovery window's bounds, reads refused while it
	// runs, RestoreSecret, and a forced delete.
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: created.ARN, RecoveryWindowInDays: aws.Int64(3)})
	wantAPIError(t, err, "InvalidParameterException")
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: created.ARN, RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameterException")
	del, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: created.ARN, RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || del.DeletionDate == nil || time.Until(*del.DeletionDate) < 6*24*time.Hour {
		t.Fatalf("DeleteSecret = %+v, %v", del, err)
	}
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException")
	if l, _ := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); len(l.SecretList) != 1 {
		t.Fatalf("ListSecrets shows a secret scheduled for deletion: %+v", l.SecretList)
	}
	if _, err := sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: created.ARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN}); err != nil {
		t.Fatalf("GetSecretValue after RestoreSecret: %v", err)
	}
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: created.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: created.ARN})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Model validation, in AWS's words.
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(string(make([]byte, 600)))})
	wantAPIError(t, err, "ValidationException")
}

func TestParameterStoreAPI(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "none"})
	_, ps := secretClients(d.URL())

	for _, p := range []struct {
		name, value string
		typ         ssmtypes.ParameterType
	}{
		{"/app/db/password", "s3cret-first", ssmtypes.ParameterTypeSecureString},
		{"/app/db/host", "db.internal", ssmtypes.ParameterTypeString},
		{"/app/hosts", "a,b", ssmtypes.ParameterTypeStringList},
		{"/app/deep/er/x", "1", ssmtypes.ParameterTypeString},
		{"plain", "p", ssmtypes.ParameterTypeString},
	} {
		out, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(p.name), Value: aws.String(p.value), Type: p.typ})
		if err != nil || out.Version != 1 {
			t.Fatalf("PutParameter(%s) = %+v, %v", p.name, out, err)
		}
	}
	_, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db/password"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeSecureString})
	wantAPIError(t, err, "ParameterAlreadyExists")
	out, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db/password"), Value: aws.String("s3cret-second"), Overwrite: aws.Bool(true)})
	if err != nil || out.Version != 2 {
		t.Fatalf("PutParameter overwrite = %+v, %v", out, err)
	}
	_, err = ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("a/b"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
	wantAPIError(t, err, "ValidationException")

	// SecureString: decrypted only WithDecryption; by name, ARN, version.
	clear, err := ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(clear.Parameter.Value) != "s3cret-second" || clear.Parameter.Version != 2 ||
		aws.ToString(clear.Parameter.ARN) != "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password" {
		t.Fatalf("GetParameter WithDecryption = %+v, %v", clear.Parameter, err)
	}
	sealed, err := ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password")})
	if err != nil || aws.ToString(sealed.Parameter.Value) == "s3cret-second" || aws.ToString(sealed.Parameter.Value) == "" {
		t.Fatalf("GetParameter without decryption = %+v, %v", sealed.Parameter, err)
	}
	v1, err := ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(aws.ToString(clear.Parameter.ARN) + ":1"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(v1.Parameter.Value) != "s3cret-first" {
		t.Fatalf("GetParameter ARN:1 = %+v, %v", v1, err)
	}
	_, err = ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password:9")})
	wantAPIError(t, err, "ParameterVersionNotFound")
	_, err = ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
	wantAPIError(t, err, "ParameterNotFound")

	many, err := ps.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/db/host", "/nope", "plain"}})
	if err != nil || len(many.Parameters) != 2 || !slices.Equal(many.InvalidParameters, []string{"/nope"}) {
		t.Fatalf("GetParameters = %+v, %v", many, err)
	}

	// GetParametersByPath: one level, recursive, in pages.
	level, err := ps.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app")})
	if err != nil || len(level.Parameters) != 1 || aws.ToString(level.Parameters[0].Name) != "/app/hosts" {
		t.Fatalf("GetParametersByPath(/app) = %+v, %v", level.Parameters, err)
	}
	var names []string
	in := &ssm.GetParametersByPathInput{Path: aws.String("/app/"), Recursive: aws.Bool(true), MaxResults: aws.Int32(2), WithDecryption: aws.Bool(true)}
	for pages := 0; ; pages++ {
		page, err := ps.GetParametersByPath(ctx, in)
		if err != nil || pages > 3 {
			t.Fatalf("GetParametersByPath page %d: %v", pages, err)
		}
		for _, p := range page.Parameters {
			names = append(names, aws.ToString(p.Name))
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if want := []string{"/app/db/host", "/app/db/password", "/app/deep/er/x", "/app/hosts"}; !slices.Equal(names, want) {
		t.Fatalf("recursive names = %v, want %v", names, want)
	}

	desc, err := ps.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"SecureString"}}}})
	if err != nil || len(desc.Parameters) != 1 || desc.Parameters[0].Version != 2 {
		t.Fatalf("DescribeParameters(Type=SecureString) = %+v, %v", desc, err)
	}
	_, err = ps.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("tag:x")}}})
	wantAPIError(t, err, "InvalidFilterKey")

	if _, err := ps.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	_, err = ps.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("plain")})
	wantAPIError(t, err, "ParameterNotFound")

	// A hundred versions are kept; the 101st put drops the first.
	for i := 3; i <= 101; i++ {
		if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db/password"), Value: aws.String("v" + strconv.Itoa(i)), Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password:1")})
	wantAPIError(t, err, "ParameterVersionNotFound")
}

// BenchmarkSecretReads measures reads of the embedded store through the
// SDK (SigV4, JSON 1.1, a vault Open per value) side by side with its
// peer on the same listener, App Runner's ListConnections.
func BenchmarkSecretReads(b *testing.B) {
	d := testutil.MustRunDaemon(b, daemon.Config{Runtime: "none"})
	sm, ps := secretClients(d.URL())
	ar := testutil.Client(d.URL(), testutil.ClientOptions{})
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bench"), SecretString: aws.String(`{"password":"p"}`)}); err != nil {
		b.Fatal(err)
	}
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/bench"), Value: aws.String("v"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		b.Fatal(err)
	}
	b.Run("GetSecretValue", func(b *testing.B) {
		for b.Loop() {
			if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("bench")}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetParameter", func(b *testing.B) {
		for b.Loop() {
			if _, err := ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/bench"), WithDecryption: aws.Bool(true)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PeerListConnections", func(b *testing.B) {
		for b.Loop() {
			if _, err := ar.ListConnections(ctx, &apprunner.ListConnectionsInput{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
