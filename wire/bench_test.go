package wire

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// connectionService answers CreateConnection with a fixed output, so the
// benchmark measures Dispatch (decode, validate, call) and nothing else.
type connectionService struct {
	Unimplemented
	out *CreateConnectionOutput
}

func (s *connectionService) CreateConnection(context.Context, *CreateConnectionInput) (*CreateConnectionOutput, error) {
	return s.out, nil
}

var createConnectionBody = []byte(`{"ConnectionName":"my-github-connection","ProviderType":"GITHUB","Tags":[{"Key":"team","Value":"platform"},{"Key":"env","Value":"prod"}]}`)

func BenchmarkDispatchCreateConnection(b *testing.B) {
	svc := &connectionService{out: &CreateConnectionOutput{Connection: &Connection{
		ConnectionArn:  Ptr("arn:aws:apprunner:us-east-1:123456789012:connection/my-github-connection/0123456789abcdef0123456789abcdef"),
		ConnectionName: Ptr("my-github-connection"),
		ProviderType:   Ptr(ProviderTypeGithub),
		Status:         Ptr(ConnectionStatusPendingHandshake),
		CreatedAt:      NewTimestamp(time.Unix(1601681132, 650_000_000)),
	}}}
	ctx := context.Background()
	b.SetBytes(int64(len(createConnectionBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Dispatch(ctx, svc, "CreateConnection", createConnectionBody); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatchCreateService decodes and validates a large nested
// input (the request of TestSDK_CreateService, as the SDK writes it).
func BenchmarkDispatchCreateService(b *testing.B) {
	body := []byte(`{"AutoScalingConfigurationArn":"arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/high/1/0123456789abcdef0123456789abcdef","EncryptionConfiguration":{"KmsKey":"arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"},"HealthCheckConfiguration":{"HealthyThreshold":1,"Interval":10,"Path":"/health","Protocol":"HTTP","Timeout":5,"UnhealthyThreshold":20},"InstanceConfiguration":{"Cpu":"1 vCPU","InstanceRoleArn":"arn:aws:iam::123456789012:role/AppRunnerInstanceRole","Memory":"2 GB"},"NetworkConfiguration":{"EgressConfiguration":{"EgressType":"VPC","VpcConnectorArn":"arn:aws:apprunner:us-east-1:123456789012:vpcconnector/conn/1/0123456789abcdef0123456789abcdef"},"IngressConfiguration":{},"IpAddressType":"DUAL_STACK"},"ObservabilityConfiguration":{"ObservabilityConfigurationArn":"arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/xray/1/0123456789abcdef0123456789abcdef","ObservabilityEnabled":true},"ServiceName":"my-service","SourceConfiguration":{"AuthenticationConfiguration":{"AccessRoleArn":"arn:aws:iam::123456789012:role/service-role/AppRunnerECRAccessRole"},"AutoDeploymentsEnabled":false,"ImageRepository":{"ImageConfiguration":{"Port":"8080","RuntimeEnvironmentSecrets":{"DB_PASSWORD":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db"},"RuntimeEnvironmentVariables":{"LOG_LEVEL":"debug","EMPTY":"","UNICODE":"é😀"},"StartCommand":"./server --flag=\"x\""},"ImageIdentifier":"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1","ImageRepositoryType":"ECR"}},"Tags":[{"Key":"team","Value":"platform"},{"Key":"empty","Value":""}]}`)
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Dispatch(ctx, &recorder{}, "CreateService", body); err != nil {
			b.Fatal(err)
		}
	}
}

var benchConnectionOutput = &CreateConnectionOutput{Connection: &Connection{
	ConnectionArn:  Ptr("arn:aws:apprunner:us-east-1:123456789012:connection/my-github-connection/0123456789abcdef0123456789abcdef"),
	ConnectionName: Ptr("my-github-connection"),
	ProviderType:   Ptr(ProviderTypeGithub),
	Status:         Ptr(ConnectionStatusPendingHandshake),
	CreatedAt:      NewTimestamp(time.Unix(1601681132, 650_000_000)),
}}

// BenchmarkMarshalCreateConnectionOutput measures the response side as
// awsjson encodes it today: encoding/json calling MarshalJSON, then
// re-scanning its output.
func BenchmarkMarshalCreateConnectionOutput(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(benchConnectionOutput); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendJSONCreateConnectionOutput measures the same encoding
// without encoding/json, into a reused buffer.
func BenchmarkAppendJSONCreateConnectionOutput(b *testing.B) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = benchConnectionOutput.AppendJSON(buf[:0])
	}
}
