package wire

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

// sdkServer serves svc through Dispatch to the real AWS SDK for Go v2, with
// the awsJson1_0 framing reduced to the minimum, and records the last
// request body.
type sdkServer struct {
	*httptest.Server
	client *apprunner.Client
	body   []byte
	target string
}

func newSDKServer(t *testing.T, svc AppRunner) *sdkServer {
	t.Helper()
	s := &sdkServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		s.body, s.target = body, r.Header.Get("X-Amz-Target")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		out, err := Dispatch(r.Context(), svc, strings.TrimPrefix(s.target, "AppRunner."), body)
		if err != nil {
			t.Errorf("Dispatch(%s): %v", s.target, err)
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidRequestException", "Message": err.Error()})
			return
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(s.Close)
	s.client = apprunner.New(apprunner.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       s.Client(),
		RetryMaxAttempts: 1,
	})
	return s
}

// TestSDK_CreateService sends a CreateService request rich in nested
// shapes with the AWS SDK, checks that Dispatch decodes every value, and
// that the SDK decodes the output written by MarshalJSON.
func TestSDK_CreateService(t *testing.T) {
	created := time.Date(2020, 10, 2, 23, 25, 32, 650_000_000, time.UTC)
	rec := &recorder{out: &CreateServiceOutput{
		OperationId: Ptr("9c3a3a4e-7d59-4c8b-9a57-3a3a4e7d594c"),
		Service: &Service{
			ServiceName: Ptr("my-service"),
			ServiceId:   Ptr("0123456789abcdef0123456789abcdef"),
			ServiceArn:  Ptr(testARN),
			ServiceUrl:  Ptr("abcdefghij.us-east-1.awsapprunner.com"),
			CreatedAt:   NewTimestamp(created),
			UpdatedAt:   NewTimestamp(created.Add(1500 * time.Millisecond)),
			Status:      Ptr(ServiceStatusOperationInProgress),
			SourceConfiguration: &SourceConfiguration{
				ImageRepository: &ImageRepository{
					ImageIdentifier:     Ptr("public.ecr.aws/nginx/nginx:latest"),
					ImageRepositoryType: Ptr(ImageRepositoryTypeEcrPublic),
				},
				AutoDeploymentsEnabled: Ptr(false),
			},
			InstanceConfiguration: &InstanceConfiguration{Cpu: Ptr("1024"), Memory: Ptr("2048")},
			AutoScalingConfigurationSummary: &AutoScalingConfigurationSummary{
				AutoScalingConfigurationName:     Ptr("DefaultConfiguration"),
				AutoScalingConfigurationRevision: Ptr[int32](1),
				Status:                           Ptr(AutoScalingConfigurationStatus("active")), // lowercase, as AWS sends it
				IsDefault:                        Ptr(true),
			},
			NetworkConfiguration: &NetworkConfiguration{
				EgressConfiguration:  &EgressConfiguration{EgressType: Ptr(EgressTypeDefault)},
				IngressConfiguration: &IngressConfiguration{IsPubliclyAccessible: Ptr(true)},
				IpAddressType:        Ptr(IpAddressTypeIpv4),
			},
		},
	}}
	s := newSDKServer(t, rec)

	in := &apprunner.CreateServiceInput{
		ServiceName: aws.String("my-service"),
		SourceConfiguration: &types.SourceConfiguration{
			ImageRepository: &types.ImageRepository{
				ImageIdentifier:     aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
				ImageRepositoryType: types.ImageRepositoryTypeEcr,
				ImageConfiguration: &types.ImageConfiguration{
					Port:                        aws.String("8080"),
					StartCommand:                aws.String("./server --flag=\"x\""),
					RuntimeEnvironmentVariables: map[string]string{"LOG_LEVEL": "debug", "EMPTY": "", "UNICODE": "é😀"},
					RuntimeEnvironmentSecrets:   map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"},
				},
			},
			AuthenticationConfiguration: &types.AuthenticationConfiguration{
				AccessRoleArn: aws.String("arn:aws:iam::123456789012:role/service-role/AppRunnerECRAccessRole"),
			},
			AutoDeploymentsEnabled: aws.Bool(false),
		},
		HealthCheckConfiguration: &types.HealthCheckConfiguration{
			Protocol:           types.HealthCheckProtocolHttp,
			Path:               aws.String("/health"),
			Interval:           aws.Int32(10),
			Timeout:            aws.Int32(5),
			HealthyThreshold:   aws.Int32(1),
			UnhealthyThreshold: aws.Int32(20),
		},
		InstanceConfiguration: &types.InstanceConfiguration{
			Cpu:             aws.String("1 vCPU"),
			Memory:          aws.String("2 GB"),
			InstanceRoleArn: aws.String("arn:aws:iam::123456789012:role/AppRunnerInstanceRole"),
		},
		NetworkConfiguration: &types.NetworkConfiguration{
			EgressConfiguration: &types.EgressConfiguration{
				EgressType:      types.EgressTypeVpc,
				VpcConnectorArn: aws.String("arn:aws:apprunner:us-east-1:123456789012:vpcconnector/conn/1/0123456789abcdef0123456789abcdef"),
			},
			IngressConfiguration: &types.IngressConfiguration{IsPubliclyAccessible: false},
			IpAddressType:        types.IpAddressTypeDualStack,
		},
		ObservabilityConfiguration: &types.ServiceObservabilityConfiguration{
			ObservabilityEnabled:          true,
			ObservabilityConfigurationArn: aws.String("arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/xray/1/0123456789abcdef0123456789abcdef"),
		},
		EncryptionConfiguration: &types.EncryptionConfiguration{
			KmsKey: aws.String("arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"),
		},
		AutoScalingConfigurationArn: aws.String("arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/high/1/0123456789abcdef0123456789abcdef"),
		Tags: []types.Tag{
			{Key: aws.String("team"), Value: aws.String("platform")},
			{Key: aws.String("empty"), Value: aws.String("")},
		},
	}
	out, err := s.client.CreateService(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateService: %v (request body %s)", err, s.body)
	}
	if got, want := s.target, "AppRunner.CreateService"; got != want {
		t.Errorf("X-Amz-Target=%q, want %q", got, want)
	}

	want := &CreateServiceInput{
		ServiceName: Ptr("my-service"),
		SourceConfiguration: &SourceConfiguration{
			ImageRepository: &ImageRepository{
				ImageIdentifier:     Ptr("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
				ImageRepositoryType: Ptr(ImageRepositoryTypeEcr),
				ImageConfiguration: &ImageConfiguration{
					Port:                        Ptr("8080"),
					StartCommand:                Ptr("./server --flag=\"x\""),
					RuntimeEnvironmentVariables: map[string]string{"LOG_LEVEL": "debug", "EMPTY": "", "UNICODE": "é😀"},
					RuntimeEnvironmentSecrets:   map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"},
				},
			},
			AuthenticationConfiguration: &AuthenticationConfiguration{
				AccessRoleArn: Ptr("arn:aws:iam::123456789012:role/service-role/AppRunnerECRAccessRole"),
			},
			AutoDeploymentsEnabled: Ptr(false),
		},
		HealthCheckConfiguration: &HealthCheckConfiguration{
			Protocol:           Ptr(HealthCheckProtocolHttp),
			Path:               Ptr("/health"),
			Interval:           Ptr[int32](10),
			Timeout:            Ptr[int32](5),
			HealthyThreshold:   Ptr[int32](1),
			UnhealthyThreshold: Ptr[int32](20),
		},
		InstanceConfiguration: &InstanceConfiguration{
			Cpu:             Ptr("1 vCPU"),
			Memory:          Ptr("2 GB"),
			InstanceRoleArn: Ptr("arn:aws:iam::123456789012:role/AppRunnerInstanceRole"),
		},
		NetworkConfiguration: &NetworkConfiguration{
			EgressConfiguration: &EgressConfiguration{
				EgressType:      Ptr(EgressTypeVpc),
				VpcConnectorArn: Ptr("arn:aws:apprunner:us-east-1:123456789012:vpcconnector/conn/1/0123456789abcdef0123456789abcdef"),
			},
			// The SDK omits a false boolean whose Smithy default is false
			// (IsPubliclyAccessible, DeleteAllRevisions, LatestOnly): nil
			// must mean false to handlers.
			IngressConfiguration: &IngressConfiguration{},
			IpAddressType:        Ptr(IpAddressTypeDualStack),
		},
		ObservabilityConfiguration: &ServiceObservabilityConfiguration{
			ObservabilityEnabled:          Ptr(true),
			ObservabilityConfigurationArn: Ptr("arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/xray/1/0123456789abcdef0123456789abcdef"),
		},
		EncryptionConfiguration: &EncryptionConfiguration{
			KmsKey: Ptr("arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"),
		},
		AutoScalingConfigurationArn: Ptr("arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/high/1/0123456789abcdef0123456789abcdef"),
		Tags:                        []Tag{{Key: Ptr("team"), Value: Ptr("platform")}, {Key: Ptr("empty"), Value: Ptr("")}},
	}
	if got := rec.in; !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		t.Errorf("decoded input differs\n got  %s\n want %s\n body %s", gotJSON, wantJSON, s.body)
	}

	// The SDK reads the output MarshalJSON wrote.
	svc := out.Service
	if svc == nil {
		t.Fatal("no Service in the SDK's output")
	}
	if got, want := aws.ToString(out.OperationId), "9c3a3a4e-7d59-4c8b-9a57-3a3a4e7d594c"; got != want {
		t.Errorf("OperationId=%q, want %q", got, want)
	}
	if got := aws.ToTime(svc.CreatedAt); !got.Equal(created) {
		t.Errorf("CreatedAt=%v, want %v", got, created)
	}
	if got, want := aws.ToTime(svc.UpdatedAt), created.Add(1500*time.Millisecond); !got.Equal(want) {
		t.Errorf("UpdatedAt=%v, want %v", got, want)
	}
	if got, want := svc.Status, types.ServiceStatusOperationInProgress; got != want {
		t.Errorf("Status=%q, want %q", got, want)
	}
	if got, want := svc.AutoScalingConfigurationSummary.Status, types.AutoScalingConfigurationStatus("active"); got != want {
		t.Errorf("ASC Status=%q, want %q", got, want)
	}
	if got := svc.SourceConfiguration.ImageRepository.ImageRepositoryType; got != types.ImageRepositoryTypeEcrPublic {
		t.Errorf("ImageRepositoryType=%q", got)
	}
	if got := svc.SourceConfiguration.AutoDeploymentsEnabled; got == nil || *got {
		t.Errorf("AutoDeploymentsEnabled=%v, want false", got)
	}
	if got := svc.AutoScalingConfigurationSummary.AutoScalingConfigurationRevision; got != 1 {
		t.Errorf("AutoScalingConfigurationRevision=%v, want 1", got)
	}
	if got := svc.NetworkConfiguration; got.IpAddressType != types.IpAddressTypeIpv4 || !got.IngressConfiguration.IsPubliclyAccessible || got.EgressConfiguration.EgressType != types.EgressTypeDefault {
		t.Errorf("NetworkConfiguration=%+v", got)
	}
	if got, want := aws.ToString(svc.ServiceUrl), "abcdefghij.us-east-1.awsapprunner.com"; got != want {
		t.Errorf("ServiceUrl=%q, want %q", got, want)
	}
}

// TestSDK_UpdateServiceCodeRepository covers the code-repository half of
// SourceConfiguration.
func TestSDK_UpdateServiceCodeRepository(t *testing.T) {
	rec := &recorder{}
	s := newSDKServer(t, rec)
	_, err := s.client.UpdateService(context.Background(), &apprunner.UpdateServiceInput{
		ServiceArn: aws.String(testARN),
		SourceConfiguration: &types.SourceConfiguration{
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String("https://github.com/owner/repo"),
				SourceDirectory:   aws.String("services/api"),
				SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
				CodeConfiguration: &types.CodeConfiguration{
					ConfigurationSource: types.ConfigurationSourceApi,
					CodeConfigurationValues: &types.CodeConfigurationValues{
						Runtime:                     types.RuntimePython311,
						BuildCommand:                aws.String("pip install -r requirements.txt"),
						StartCommand:                aws.String("python app.py"),
						Port:                        aws.String("8000"),
						RuntimeEnvironmentVariables: map[string]string{"A": "1"},
					},
				},
			},
			AuthenticationConfiguration: &types.AuthenticationConfiguration{
				ConnectionArn: aws.String("arn:aws:apprunner:us-east-1:123456789012:connection/gh/0123456789abcdef0123456789abcdef"),
			},
		},
		HealthCheckConfiguration: &types.HealthCheckConfiguration{Protocol: types.HealthCheckProtocolTcp},
	})
	// The recorder returns no output: Dispatch sends {} and the SDK accepts it.
	if err != nil {
		t.Fatalf("UpdateService: %v (request body %s)", err, s.body)
	}
	want := &UpdateServiceInput{
		ServiceArn: Ptr(testARN),
		SourceConfiguration: &SourceConfiguration{
			CodeRepository: &CodeRepository{
				RepositoryUrl:     Ptr("https://github.com/owner/repo"),
				SourceDirectory:   Ptr("services/api"),
				SourceCodeVersion: &SourceCodeVersion{Type: Ptr(SourceCodeVersionTypeBranch), Value: Ptr("main")},
				CodeConfiguration: &CodeConfiguration{
					ConfigurationSource: Ptr(ConfigurationSourceApi),
					CodeConfigurationValues: &CodeConfigurationValues{
						Runtime:                     Ptr(RuntimePython311),
						BuildCommand:                Ptr("pip install -r requirements.txt"),
						StartCommand:                Ptr("python app.py"),
						Port:                        Ptr("8000"),
						RuntimeEnvironmentVariables: map[string]string{"A": "1"},
					},
				},
			},
			AuthenticationConfiguration: &AuthenticationConfiguration{
				ConnectionArn: Ptr("arn:aws:apprunner:us-east-1:123456789012:connection/gh/0123456789abcdef0123456789abcdef"),
			},
		},
		HealthCheckConfiguration: &HealthCheckConfiguration{Protocol: Ptr(HealthCheckProtocolTcp)},
	}
	if got := rec.in; !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		t.Errorf("decoded input differs\n got  %s\n want %s\n body %s", gotJSON, wantJSON, s.body)
	}
}

// TestSDK_ListServicesEmpty checks that a required list the service leaves
// nil reaches the SDK as an empty list, and an empty request body decodes.
func TestSDK_ListServicesEmpty(t *testing.T) {
	rec := &recorder{out: &ListServicesOutput{}}
	s := newSDKServer(t, rec)
	out, err := s.client.ListServices(context.Background(), &apprunner.ListServicesInput{MaxResults: aws.Int32(20)})
	if err != nil {
		t.Fatal(err)
	}
	if out.ServiceSummaryList == nil || len(out.ServiceSummaryList) != 0 {
		t.Errorf("ServiceSummaryList=%#v, want empty", out.ServiceSummaryList)
	}
	if got := rec.in.(*ListServicesInput).MaxResults; got == nil || *got != 20 {
		t.Errorf("MaxResults=%v, want 20", got)
	}
}
