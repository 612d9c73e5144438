/**
 * The second fresh held-out part of the search evaluation (#15): 120 tasks, 40 per API, outside
 * the split and outside fresh.ts. Written blind in session 8, after fresh.ts had been scored, to
 * judge the next engine round: the author saw neither the engine, nor its tests, history or
 * scores, nor fresh.ts, and ran no search; each `expect` comes from the compiled specs alone.
 * Scored only when asked for (`evaluate.ts fresh2`, or the bench with `SEARCH_EVAL_FRESH2=1`);
 * never while tuning. See README.md.
 */
import type { EvalCase } from "./evaluate.ts";

export const FRESH2_CASES: readonly EvalCase[] = [
  // GitHub: plain requests.
  { api: "github", task: "list the labels of a repository", expect: ["issues/list-labels-for-repo"] },
  { api: "github", task: "create a milestone", expect: ["issues/create-milestone"] },
  { api: "github", task: "delete a gist", expect: ["gists/delete"] },
  { api: "github", task: "star a repository", expect: ["activity/star-repo-for-authenticated-user"] },
  {
    api: "github",
    task: "list workflow runs for a repository",
    expect: ["actions/list-workflow-runs-for-repo"],
  },
  { api: "github", task: "delete a label", expect: ["issues/delete-label"] },
  {
    api: "github",
    task: "list the members of a team",
    expect: ["teams/list-members-in-org", "teams/list-members-legacy"],
  },
  { api: "github", task: "get the latest release", expect: ["repos/get-latest-release"] },
  { api: "github", task: "add a deploy key to a repository", expect: ["repos/create-deploy-key"] },
  {
    api: "github",
    task: "list Dependabot alerts for a repository",
    expect: ["dependabot/list-alerts-for-repo"],
  },
  { api: "github", task: "transfer a repository to another owner", expect: ["repos/transfer"] },
  { api: "github", task: "render markdown to HTML", expect: ["markdown/render", "markdown/render-raw"] },
  {
    api: "github",
    task: "list code scanning alerts for a repository",
    expect: ["code-scanning/list-alerts-for-repo"],
  },
  // GitHub: paraphrases.
  { api: "github", task: "who has push access to this repo", expect: ["repos/list-collaborators"] },
  {
    api: "github",
    task: "run the failed jobs of a workflow run again",
    expect: ["actions/re-run-workflow-failed-jobs"],
  },
  {
    api: "github",
    task: "show me the comments people left on the diff of a pull request",
    expect: ["pulls/list-review-comments"],
  },
  { api: "github", task: "how many visitors did my repository get recently", expect: ["repos/get-views"] },
  { api: "github", task: "who contributed code to this project", expect: ["repos/list-contributors"] },
  { api: "github", task: "stop watching a repository", expect: ["activity/delete-repo-subscription"] },
  { api: "github", task: "fetch the README of a project", expect: ["repos/get-readme"] },
  {
    api: "github",
    task: "what changed between two branches",
    expect: ["repos/compare-commits-with-basehead", "repos/compare-commits"],
  },
  {
    api: "github",
    task: "kick someone out of an organization",
    expect: ["orgs/remove-member", "orgs/remove-membership-for-user"],
  },
  {
    api: "github",
    task: "find repositories about machine learning with lots of stars",
    expect: ["search/repos"],
  },
  {
    api: "github",
    task: "abort a workflow run that is still going",
    expect: ["actions/cancel-workflow-run"],
  },
  { api: "github", task: "which license does this repository use", expect: ["licenses/get-for-repo"] },
  {
    api: "github",
    task: "upload my SSH public key to my account",
    expect: ["users/create-public-ssh-key-for-authenticated-user"],
  },
  // GitHub: indirect goals.
  { api: "github", task: "I want my teammate to review this PR", expect: ["pulls/request-reviewers"] },
  {
    api: "github",
    task: "the build on main keeps failing and I need to read what the job printed",
    expect: ["actions/download-job-logs-for-workflow-run"],
  },
  {
    api: "github",
    task: "a token may have leaked into our code, did GitHub detect any?",
    expect: ["secret-scanning/list-alerts-for-repo"],
  },
  {
    api: "github",
    task: "I'd like to ship version 2.0 to users with release notes",
    expect: ["repos/create-release"],
  },
  { api: "github", task: "I merged the feature, now clean up its branch", expect: ["git/delete-ref"] },
  {
    api: "github",
    task: "I need my own copy of this repo to make changes in",
    expect: ["repos/create-fork"],
  },
  {
    api: "github",
    task: "our server should be told whenever someone pushes to the repo",
    expect: ["repos/create-webhook"],
  },
  {
    api: "github",
    task: "our self-hosted runner machine died, take it out of the repo",
    expect: ["actions/delete-self-hosted-runner-from-repo"],
  },
  {
    api: "github",
    task: "let everyone know the production rollout finished fine",
    expect: ["repos/create-deployment-status"],
  },
  {
    api: "github",
    task: "free up Actions storage by getting rid of an old build artifact",
    expect: ["actions/delete-artifact"],
  },
  { api: "github", task: "someone opened a duplicate; close it as not planned", expect: ["issues/update"] },
  {
    api: "github",
    task: "too many strangers are piling onto my repo's issues, limit comments to past contributors for a while",
    expect: ["interactions/set-restrictions-for-repo"],
  },
  {
    api: "github",
    task: "we want commit messages mentioning JIRA-123 to link to our tracker",
    expect: ["repos/create-autolink"],
  },
  {
    api: "github",
    task: "make this old project read-only, it's no longer maintained",
    expect: ["repos/update"],
  },

  // Stripe: plain requests.
  {
    api: "stripe",
    task: "refund a charge",
    expect: ["PostRefunds", "PostChargesChargeRefunds", "PostChargesChargeRefund"],
  },
  { api: "stripe", task: "create a customer", expect: ["PostCustomers"] },
  { api: "stripe", task: "list the invoices of a customer", expect: ["GetInvoices"] },
  { api: "stripe", task: "list all coupons", expect: ["GetCoupons"] },
  { api: "stripe", task: "delete a product", expect: ["DeleteProductsId"] },
  { api: "stripe", task: "create a payout", expect: ["PostPayouts"] },
  { api: "stripe", task: "list the prices of a product", expect: ["GetPrices"] },
  { api: "stripe", task: "list disputes", expect: ["GetDisputes"] },
  { api: "stripe", task: "create a setup intent", expect: ["PostSetupIntents"] },
  { api: "stripe", task: "retrieve the account balance", expect: ["GetBalance"] },
  { api: "stripe", task: "create a tax rate", expect: ["PostTaxRates"] },
  { api: "stripe", task: "delete a webhook endpoint", expect: ["DeleteWebhookEndpointsWebhookEndpoint"] },
  { api: "stripe", task: "create a promotion code", expect: ["PostPromotionCodes"] },
  // Stripe: paraphrases.
  {
    api: "stripe",
    task: "cancel a subscription right away",
    expect: ["DeleteSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "put a subscription on hold so it doesn't bill for now",
    expect: ["PostSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "take the held money on an authorized payment",
    expect: ["PostPaymentIntentsIntentCapture", "PostChargesChargeCapture"],
  },
  {
    api: "stripe",
    task: "show what a customer's next invoice will look like",
    expect: ["GetInvoicesUpcoming"],
  },
  { api: "stripe", task: "email the invoice to the customer", expect: ["PostInvoicesInvoiceSend"] },
  { api: "stripe", task: "submit evidence for a chargeback", expect: ["PostDisputesDispute"] },
  {
    api: "stripe",
    task: "stop a payment intent that is no longer needed",
    expect: ["PostPaymentIntentsIntentCancel"],
  },
  {
    api: "stripe",
    task: "get a hosted payment page link for a customer",
    expect: ["PostCheckoutSessions", "PostPaymentLinks"],
  },
  { api: "stripe", task: "find customers by email", expect: ["GetCustomersSearch", "GetCustomers"] },
  {
    api: "stripe",
    task: "mark an invoice as paid outside of Stripe",
    expect: ["PostInvoicesInvoicePay"],
  },
  { api: "stripe", task: "freeze an Issuing card", expect: ["PostIssuingCardsCard"] },
  {
    api: "stripe",
    task: "verify someone's ID document",
    expect: ["PostIdentityVerificationSessions"],
  },
  {
    api: "stripe",
    task: "see the processing fees Stripe took on each transaction",
    expect: ["GetBalanceTransactions"],
  },
  // Stripe: indirect goals.
  {
    api: "stripe",
    task: "a customer was double charged, give the second payment back",
    expect: ["PostRefunds", "PostChargesChargeRefunds", "PostChargesChargeRefund"],
  },
  { api: "stripe", task: "I want to offer 20% off for the first three months", expect: ["PostCoupons"] },
  {
    api: "stripe",
    task: "a customer wants to switch from monthly to yearly billing",
    expect: ["PostSubscriptionsSubscriptionExposedId", "PostSubscriptionItemsItem"],
  },
  {
    api: "stripe",
    task: "we keep seeing fraud from one IP address, block it from paying",
    expect: ["PostRadarValueListItems"],
  },
  {
    api: "stripe",
    task: "I want to test what happens when the subscription renews next month without waiting",
    expect: ["PostTestHelpersTestClocksTestClockAdvance"],
  },
  { api: "stripe", task: "our marketplace seller needs to get paid their share", expect: ["PostTransfers"] },
  {
    api: "stripe",
    task: "a new vendor is joining our marketplace and needs a Stripe account",
    expect: ["PostAccounts"],
  },
  {
    api: "stripe",
    task: "a customer moved abroad and their invoices need the new address",
    expect: ["PostCustomersCustomer"],
  },
  {
    api: "stripe",
    task: "the customer wants to stop being charged after this billing period",
    expect: ["PostSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "our server needs to hear about failed payments",
    expect: ["PostWebhookEndpoints"],
  },
  {
    api: "stripe",
    task: "I need to figure out how much sales tax to charge on this order",
    expect: ["PostTaxCalculations"],
  },
  {
    api: "stripe",
    task: "charge a flat shipping fee at checkout for physical goods",
    expect: ["PostShippingRates"],
  },
  {
    api: "stripe",
    task: "a customer earned $50 of store credit to use on future invoices",
    expect: ["PostCustomersCustomerBalanceTransactions"],
  },
  {
    api: "stripe",
    task: "the chargeback is not worth fighting, give up on it",
    expect: ["PostDisputesDisputeClose"],
  },

  // Kubernetes: plain requests.
  { api: "kubernetes", task: "delete a persistent volume", expect: ["deleteCoreV1PersistentVolume"] },
  { api: "kubernetes", task: "list services in a namespace", expect: ["listCoreV1NamespacedService"] },
  { api: "kubernetes", task: "create a namespace", expect: ["createCoreV1Namespace"] },
  { api: "kubernetes", task: "get a config map", expect: ["readCoreV1NamespacedConfigMap"] },
  {
    api: "kubernetes",
    task: "list the persistent volume claims in a namespace",
    expect: ["listCoreV1NamespacedPersistentVolumeClaim"],
  },
  {
    api: "kubernetes",
    task: "create a cron job",
    expect: ["createBatchV1NamespacedCronJob", "createBatchV1beta1NamespacedCronJob"],
  },
  { api: "kubernetes", task: "delete a job", expect: ["deleteBatchV1NamespacedJob"] },
  { api: "kubernetes", task: "list nodes", expect: ["listCoreV1Node"] },
  {
    api: "kubernetes",
    task: "create a role binding",
    expect: ["createRbacAuthorizationV1NamespacedRoleBinding"],
  },
  { api: "kubernetes", task: "list storage classes", expect: ["listStorageV1StorageClass"] },
  { api: "kubernetes", task: "read a secret", expect: ["readCoreV1NamespacedSecret"] },
  { api: "kubernetes", task: "create an ingress", expect: ["createNetworkingV1NamespacedIngress"] },
  { api: "kubernetes", task: "list cluster roles", expect: ["listRbacAuthorizationV1ClusterRole"] },
  // Kubernetes: paraphrases.
  {
    api: "kubernetes",
    task: "run a command inside a running container",
    expect: ["connectCoreV1PostNamespacedPodExec", "connectCoreV1GetNamespacedPodExec"],
  },
  {
    api: "kubernetes",
    task: "roll out a new image for a deployment",
    expect: ["patchAppsV1NamespacedDeployment", "replaceAppsV1NamespacedDeployment"],
  },
  {
    api: "kubernetes",
    task: "change how many replicas a stateful set runs",
    expect: [
      "patchAppsV1NamespacedStatefulSetScale",
      "replaceAppsV1NamespacedStatefulSetScale",
      "patchAppsV1NamespacedStatefulSet",
      "replaceAppsV1NamespacedStatefulSet",
    ],
  },
  { api: "kubernetes", task: "add a label to a node", expect: ["patchCoreV1Node", "replaceCoreV1Node"] },
  {
    api: "kubernetes",
    task: "kick a pod off its node while respecting disruption budgets",
    expect: ["createCoreV1NamespacedPodEviction"],
  },
  {
    api: "kubernetes",
    task: "check whether I am allowed to delete deployments",
    expect: ["createAuthorizationV1SelfSubjectAccessReview"],
  },
  {
    api: "kubernetes",
    task: "autoscale a deployment on CPU usage",
    expect: [
      "createAutoscalingV1NamespacedHorizontalPodAutoscaler",
      "createAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
      "createAutoscalingV2beta1NamespacedHorizontalPodAutoscaler",
    ],
  },
  {
    api: "kubernetes",
    task: "grant a user a role across the whole cluster",
    expect: ["createRbacAuthorizationV1ClusterRoleBinding"],
  },
  {
    api: "kubernetes",
    task: "get a token for a service account",
    expect: ["createCoreV1NamespacedServiceAccountToken"],
  },
  {
    api: "kubernetes",
    task: "make a persistent volume claim bigger",
    expect: ["patchCoreV1NamespacedPersistentVolumeClaim", "replaceCoreV1NamespacedPersistentVolumeClaim"],
  },
  {
    api: "kubernetes",
    task: "find out which pod IPs are behind a service",
    expect: [
      "readCoreV1NamespacedEndpoints",
      "listDiscoveryV1NamespacedEndpointSlice",
      "listDiscoveryV1beta1NamespacedEndpointSlice",
    ],
  },
  {
    api: "kubernetes",
    task: "change one setting stored in a config map",
    expect: ["patchCoreV1NamespacedConfigMap", "replaceCoreV1NamespacedConfigMap"],
  },
  {
    api: "kubernetes",
    task: "is the deployment's rollout done yet",
    expect: ["readAppsV1NamespacedDeploymentStatus", "readAppsV1NamespacedDeployment"],
  },
  // Kubernetes: indirect goals.
  {
    api: "kubernetes",
    task: "my app's pod keeps crashing and I want to see why it died last time",
    expect: ["readCoreV1NamespacedPodLog"],
  },
  {
    api: "kubernetes",
    task: "the nightly backup job should not run for a while",
    expect: [
      "patchBatchV1NamespacedCronJob",
      "replaceBatchV1NamespacedCronJob",
      "patchBatchV1beta1NamespacedCronJob",
      "replaceBatchV1beta1NamespacedCronJob",
    ],
  },
  {
    api: "kubernetes",
    task: "I need to take this node down for maintenance tomorrow, keep new work off it",
    expect: ["patchCoreV1Node", "replaceCoreV1Node"],
  },
  {
    api: "kubernetes",
    task: "pods in team-a's namespace shouldn't be able to talk to other namespaces",
    expect: ["createNetworkingV1NamespacedNetworkPolicy"],
  },
  {
    api: "kubernetes",
    task: "team A shouldn't use more than 10 CPUs in their namespace",
    expect: ["createCoreV1NamespacedResourceQuota"],
  },
  {
    api: "kubernetes",
    task: "during upgrades at least two replicas of my service must stay up",
    expect: [
      "createPolicyV1NamespacedPodDisruptionBudget",
      "createPolicyV1beta1NamespacedPodDisruptionBudget",
    ],
  },
  {
    api: "kubernetes",
    task: "the app needs the database password without baking it into the image",
    expect: ["createCoreV1NamespacedSecret"],
  },
  {
    api: "kubernetes",
    task: "I want the web app reachable from outside the cluster on port 80",
    expect: ["createCoreV1NamespacedService", "createNetworkingV1NamespacedIngress"],
  },
  {
    api: "kubernetes",
    task: "run a one-off database migration to completion",
    expect: ["createBatchV1NamespacedJob"],
  },
  {
    api: "kubernetes",
    task: "node worker-3 is running out of disk, which pods are scheduled on it?",
    expect: ["listCoreV1PodForAllNamespaces"],
  },
  {
    api: "kubernetes",
    task: "we're done with the staging environment, tear down everything in it",
    expect: ["deleteCoreV1Namespace"],
  },
  {
    api: "kubernetes",
    task: "a log collector has to run on every machine in the cluster",
    expect: ["createAppsV1NamespacedDaemonSet"],
  },
  {
    api: "kubernetes",
    task: "our custom controller needs a new resource type called Widget",
    expect: ["createApiextensionsV1CustomResourceDefinition"],
  },
  {
    api: "kubernetes",
    task: "the app needs 20 GiB of persistent disk",
    expect: ["createCoreV1NamespacedPersistentVolumeClaim"],
  },
];
