package logs

import (
	"strconv"
	"strings"

	"github.com/openrunner/openrunner"
)

// The texts below are App Runner's service event lines, worded as App
// Runner writes them (apprunner-runtime.md §3.2 and public deployment logs),
// so that people and tools that read App Runner's logs read OpenRunner's.
// Where App Runner's wording has changed over the years the newest seen is
// used. Texts marked UNCONFIRMED were not found in any public log and are
// OpenRunner's, written in the same style.
//
// The deployer writes the lifecycle (OperationStarted, StatusSet,
// OperationCompleted, failures) to StreamEvents and the steps of a
// deployment to its DeploymentStream; App Runner repeats some lines in
// both.

// Prefix begins every line App Runner itself writes. Build output is
// prefixed "[Build] " instead.
const Prefix = "[AppRunner] "

// Triggering events that DeploymentStarted names.
const (
	TriggerServiceCreate = "SERVICE_CREATE"
	TriggerServiceUpdate = "SERVICE_UPDATE"
	TriggerServiceDeploy = "SERVICE_DEPLOY"
)

// Trigger returns the triggering event of a deployment made by an
// operation of type opType (openrunner.Operation*): SERVICE_CREATE,
// SERVICE_UPDATE or SERVICE_DEPLOY; "" for operations that do not deploy
// new code or configuration.
func Trigger(opType string) string {
	switch opType {
	case openrunner.OperationCreateService:
		return TriggerServiceCreate
	case openrunner.OperationUpdateService:
		return TriggerServiceUpdate
	case openrunner.OperationStartDeployment:
		return TriggerServiceDeploy
	}
	return ""
}

// operationNoun is how App Runner's lines name an operation. App Runner
// logs a manual deployment (START_DEPLOYMENT) as a service update.
func operationNoun(opType string) string {
	switch opType {
	case openrunner.OperationCreateService:
		return "creation"
	case openrunner.OperationUpdateService, openrunner.OperationStartDeployment:
		return "update"
	case openrunner.OperationPauseService:
		return "pause" // UNCONFIRMED
	case openrunner.OperationResumeService:
		return "resume" // UNCONFIRMED
	case openrunner.OperationDeleteService:
		return "deletion" // UNCONFIRMED
	}
	return strings.ToLower(strings.ReplaceAll(opType, "_", " "))
}

// OperationStarted is the first line of an operation of type opType:
// "[AppRunner] Service creation started." (likewise "update"; for pause,
// resume and deletion the wording is UNCONFIRMED).
func OperationStarted(opType string) string {
	return Prefix + "Service " + operationNoun(opType) + " started."
}

// OperationCompleted is the line of an operation that succeeded:
// "[AppRunner] Service creation completed successfully.", "[AppRunner]
// Service update completed successfully. New configuration is deployed."
// (pause, resume, deletion: UNCONFIRMED).
func OperationCompleted(opType string) string {
	s := Prefix + "Service " + operationNoun(opType) + " completed successfully."
	if opType == openrunner.OperationUpdateService || opType == openrunner.OperationStartDeployment {
		s += " New configuration is deployed."
	}
	return s
}

// OperationFailed is the line of an operation that failed, such as
// "[AppRunner] Service creation failed." UNCONFIRMED: App Runner's logs
// end a failed deployment with DeploymentFailed; OpenRunner adds this line
// to the events stream for every failed operation.
func OperationFailed(opType string) string {
	return Prefix + "Service " + operationNoun(opType) + " failed."
}

// StatusSet reports the service's new status (openrunner.Service*):
// "[AppRunner] Service status is set to RUNNING."
func StatusSet(status string) string {
	return Prefix + "Service status is set to " + status + "."
}

// DeploymentStarted opens a deployment's log: "[AppRunner] Deployment with
// ID : <operation-id> started. Triggering event : SERVICE_CREATE". The
// spaces around the colons are App Runner's. (The triggering event part
// was seen in one third-party fixture only.)
func DeploymentStarted(operationID, trigger string) string {
	return Prefix + "Deployment with ID : " + operationID + " started. Triggering event : " + trigger
}

// ReasonHealthCheckFailed is the failure reason App Runner gives for a
// deployment whose instances never passed their health check.
const ReasonHealthCheckFailed = "Health check failed"

// DeploymentFailed closes a failed deployment's log: "[AppRunner]
// Deployment with ID : <operation-id> failed. Failure reason : Health check
// failed." Without a reason the line ends after "failed.".
func DeploymentFailed(operationID, reason string) string {
	s := Prefix + "Deployment with ID : " + operationID + " failed."
	if reason = strings.TrimRight(strings.TrimSpace(reason), "."); reason != "" {
		s += " Failure reason : " + reason + "."
	}
	return s
}

// DeploymentArtifactSource describes what a source-code deployment
// deploys: "[AppRunner] Deployment Artifact: [Repo Type: Source],
// [Repository: <url>], [Branch: <branch>], [SourceDirectory: /]". An empty
// sourceDirectory is the repository root, "/".
func DeploymentArtifactSource(repositoryURL, branch, sourceDirectory string) string {
	if sourceDirectory == "" {
		sourceDirectory = "/"
	}
	return Prefix + "Deployment Artifact: [Repo Type: Source], [Repository: " + repositoryURL + "], [Branch: " + branch + "], [SourceDirectory: " + sourceDirectory + "]"
}

// Lines of automatic deployments and of source-code deployments, in the
// order App Runner writes them.
const (
	CreatingPipeline     = Prefix + "Creating pipeline for automatic deployments."
	PipelineCreated      = Prefix + "Successfully created pipeline for automatic deployments."
	SourcePulled         = Prefix + "Successfully pulled your application source code."
	ReadingConfigFile    = Prefix + "Reading apprunner.yaml config file."
	StartingSourceDeploy = Prefix + "Starting to deploy your application source code."
	StartingBuild        = Prefix + "Starting to build your application source code."
	BuildSucceeded       = Prefix + "Successfully built your application source code."
	SourceDeployFailed   = Prefix + "Failed to deploy your application source code."
)

// PullingSource says where the source comes from: "[AppRunner] Pulling
// source code from GITHUB Repository ( https://github.com/... )."
// provider is the connection's ProviderType (GITHUB, BITBUCKET).
func PullingSource(provider, repositoryURL string) string {
	return Prefix + "Pulling source code from " + provider + " Repository ( " + repositoryURL + " )."
}

// Lines of image deployments. StartingImagePull and ImageDeployFailed
// open and close the deployment stream of an image service.
const (
	StartingImagePull = Prefix + "Starting to pull your application image."
	ImageDeployFailed = Prefix + "Failed to deploy your application image."
)

// registryName is how the image lines name a repository type.
func registryName(repositoryType string) string {
	if repositoryType == "ECR_PUBLIC" {
		return "ECR Public" // UNCONFIRMED
	}
	return "ECR"
}

// PullingImage is "[AppRunner] Pulling image <ref> from ECR repository."
// repositoryType is ImageSource.RepositoryType; for ECR_PUBLIC the line
// says "ECR Public" (UNCONFIRMED).
func PullingImage(imageRef, repositoryType string) string {
	return Prefix + "Pulling image " + imageRef + " from " + registryName(repositoryType) + " repository."
}

// ImagePulled is "[AppRunner] Successfully pulled your application image
// from ECR." (older logs: "Successfully copied the image from ECR.").
func ImagePulled(repositoryType string) string {
	return Prefix + "Successfully pulled your application image from " + registryName(repositoryType) + "."
}

// Provisioning is "[AppRunner] Provisioning instances and deploying image
// for publicly accessible service." For a private service (ingress through
// a VPC endpoint only) it says "privately" (UNCONFIRMED).
func Provisioning(publiclyAccessible bool) string {
	if publiclyAccessible {
		return Prefix + "Provisioning instances and deploying image for publicly accessible service."
	}
	return Prefix + "Provisioning instances and deploying image for privately accessible service."
}

// healthTarget is the part of the health check lines that names what is
// checked: "protocol `TCP` [Port: '8080']" or "protocol `HTTP` [Path:
// '/'], [Port: '8080']". App Runner omits the space before "[Path" in the
// failure line only; sep carries that quirk.
func healthTarget(hc openrunner.HealthCheckConfig, port, sep string) string {
	if hc.Protocol == "HTTP" {
		path := hc.Path
		if path == "" {
			path = "/"
		}
		return "protocol `HTTP`" + sep + "[Path: '" + path + "'], [Port: '" + port + "']"
	}
	return "protocol `TCP` [Port: '" + port + "']"
}

// HealthCheckStarted is "[AppRunner] Performing health check on protocol
// `TCP` [Port: '8080']." or, for HTTP, "... on protocol `HTTP` [Path:
// '/health'], [Port: '8080']." port is the application's port.
func HealthCheckStarted(hc openrunner.HealthCheckConfig, port string) string {
	return Prefix + "Performing health check on " + healthTarget(hc, port, " ") + "."
}

// HealthCheckFailed is "[AppRunner] Health check failed on protocol `TCP`
// [Port: '8080']. Check your configured port number." (for HTTP, App
// Runner writes "`HTTP`[Path: ...", without a space).
func HealthCheckFailed(hc openrunner.HealthCheckConfig, port string) string {
	return Prefix + "Health check failed on " + healthTarget(hc, port, "") + ". Check your configured port number."
}

// Lines of a deployment that went well.
const (
	HealthCheckSucceeded = Prefix + "Health check is successful. Routing traffic to application."
	TrafficRouted        = Prefix + "Successfully routed incoming traffic to application."
)

// ApplicationExited is the line for an instance that exited before it was
// healthy: "[AppRunner] Your application stopped or failed to start. See
// logs for more information.  Container exit code: 1" (two spaces, as App
// Runner writes it).
func ApplicationExited(exitCode int) string {
	return Prefix + "Your application stopped or failed to start. See logs for more information.  Container exit code: " + strconv.Itoa(exitCode)
}

// Lines of a rollback, when a deployment to a running service fails and
// the previous version keeps serving. UNCONFIRMED: App Runner rolls back
// (OperationStatus ROLLBACK_*) but no public log shows its lines.
const (
	RollbackStarted   = Prefix + "Rolling back to the previous successful deployment."
	RollbackSucceeded = Prefix + "Rollback completed successfully. The previous deployment is serving traffic."
	RollbackFailed    = Prefix + "Rollback failed."
)
