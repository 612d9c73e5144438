/**
 * The fresh held-out part of the search evaluation (#15): 120 tasks (40 per API) written in
 * session 8, after holdout.ts had been scored at the end of three tuning rounds, by someone who
 * never saw the engine, its ranking or any score of these tasks. Scored once, at the end. Not
 * part of split.ts. See README.md ("The fresh held-out part").
 */
import type { EvalCase } from "./evaluate.ts";

export const FRESH_CASES: readonly EvalCase[] = [
  // GitHub: pull requests
  {
    api: "github",
    task: "require two approving reviews before anything can be merged into main",
    expect: [
      "repos/update-branch-protection",
      "repos/update-pull-request-review-protection",
      "repos/create-repo-ruleset",
    ],
  },
  { api: "github", task: "open a PR from my feature branch into main", expect: ["pulls/create"] },
  { api: "github", task: "ask alice to take a look at my pull request", expect: ["pulls/request-reviewers"] },
  {
    api: "github",
    task: "answer a reviewer's inline comment in the same thread",
    expect: ["pulls/create-reply-for-review-comment"],
  },
  // GitHub: actions
  {
    api: "github",
    task: "rerun just the jobs that failed in my last CI run",
    expect: ["actions/re-run-workflow-failed-jobs"],
  },
  {
    api: "github",
    task: "download the build output my workflow uploaded",
    expect: ["actions/download-artifact"],
  },
  {
    api: "github",
    task: "clear the dependency cache GitHub Actions saved for my repo",
    expect: ["actions/delete-actions-cache-by-key", "actions/delete-actions-cache-by-id"],
  },
  {
    api: "github",
    task: "I want to hook up my own build machine as a runner for this repo",
    expect: ["actions/create-registration-token-for-repo"],
  },
  {
    api: "github",
    task: "define a DEPLOY_REGION variable every workflow in the organization can read",
    expect: ["actions/create-org-variable"],
  },
  // GitHub: issues
  { api: "github", task: "make a new needs-triage label for the repo", expect: ["issues/create-label"] },
  { api: "github", task: "tag issue #42 as bug and urgent", expect: ["issues/add-labels"] },
  {
    api: "github",
    task: "which open issues in this repo aren't in any milestone",
    expect: ["issues/list-for-repo"],
  },
  {
    api: "github",
    task: "everything assigned to me across all my repositories",
    expect: ["issues/list", "issues/list-for-authenticated-user", "search/issues-and-pull-requests"],
  },
  {
    api: "github",
    task: "remove a spam reply someone posted on an issue",
    expect: ["issues/delete-comment"],
  },
  // GitHub: gists, contents, git data, releases
  { api: "github", task: "share this snippet as a secret gist", expect: ["gists/create"] },
  {
    api: "github",
    task: "bump the version in package.json and commit it directly without cloning",
    expect: ["repos/create-or-update-file-contents"],
  },
  {
    api: "github",
    task: "what's the SHA of the newest commit on main",
    expect: ["repos/get-branch", "git/get-ref", "repos/get-commit", "repos/list-commits"],
  },
  {
    api: "github",
    task: "create a merge commit object from a tree I built, with two parent commits",
    expect: ["git/create-commit"],
  },
  {
    api: "github",
    task: "attach the compiled binaries to the v3.1 release",
    expect: ["repos/upload-release-asset"],
  },
  // GitHub: security
  {
    api: "github",
    task: "did anyone commit an AWS key or other credentials to this repo",
    expect: ["secret-scanning/list-alerts-for-repo"],
  },
  {
    api: "github",
    task: "let Dependabot open pull requests that fix vulnerable dependencies",
    expect: ["repos/enable-automated-security-fixes"],
  },
  {
    api: "github",
    task: "draft a security advisory for a vulnerability we found in our project",
    expect: ["security-advisories/create-repository-advisory"],
  },
  // GitHub: traffic and statistics
  {
    api: "github",
    task: "how many people looked at my repo over the past 14 days",
    expect: ["repos/get-views"],
  },
  {
    api: "github",
    task: "commits per week for the last year, for a chart",
    expect: ["repos/get-commit-activity-stats"],
  },
  // GitHub: organizations and teams
  { api: "github", task: "set up an sre team in our org", expect: ["teams/create"] },
  { api: "github", task: "who is on the platform team", expect: ["teams/list-members-in-org"] },
  {
    api: "github",
    task: "promote a member to organization owner",
    expect: ["orgs/set-membership-for-user"],
  },
  {
    api: "github",
    task: "people with access to our org's repos who are not members of the org",
    expect: ["orgs/list-outside-collaborators"],
  },
  // GitHub: search
  {
    api: "github",
    task: "where is parseConfig defined in any repository of my company",
    expect: ["search/code"],
  },
  { api: "github", task: 'find commits with "fix typo" in the message', expect: ["search/commits"] },
  // GitHub: repository settings, webhooks, collaborators
  {
    api: "github",
    task: "POST to my server every time someone pushes to the repository",
    expect: ["repos/create-webhook"],
  },
  {
    api: "github",
    task: "give an outside contractor write access to a single repo",
    expect: ["repos/add-collaborator"],
  },
  {
    api: "github",
    task: "merge develop into main directly, no pull request",
    expect: ["repos/merge"],
  },
  {
    api: "github",
    task: "turn JIRA-123 style references in commits into links to our tracker",
    expect: ["repos/create-autolink"],
  },
  { api: "github", task: "make my own copy of someone else's repository", expect: ["repos/create-fork"] },
  // GitHub: deployments and environments
  {
    api: "github",
    task: "kick off a deployment of the main branch to production",
    expect: ["repos/create-deployment"],
  },
  {
    api: "github",
    task: "require someone from the ops team to sign off before jobs deploy to the production environment",
    expect: ["repos/create-or-update-environment"],
  },
  // GitHub: apps, users, misc
  {
    api: "github",
    task: "get a token so my GitHub App can act on an installation",
    expect: ["apps/create-installation-access-token"],
  },
  {
    api: "github",
    task: "which accounts am I following",
    expect: ["users/list-followed-by-authenticated-user"],
  },
  {
    api: "github",
    task: "convert markdown text to HTML the way GitHub displays it",
    expect: ["markdown/render"],
  },

  // Stripe: coupons and discounts
  {
    api: "stripe",
    task: "a discount of $5 off each month for the first three months",
    expect: ["PostCoupons"],
  },
  {
    api: "stripe",
    task: "apply a coupon to a customer so all of their future invoices are discounted",
    expect: ["PostCustomersCustomer"],
  },
  {
    api: "stripe",
    task: "turn off a promo code that leaked online",
    expect: ["PostPromotionCodesPromotionCode"],
  },
  { api: "stripe", task: "delete the BLACKFRIDAY coupon", expect: ["DeleteCouponsCoupon"] },
  // Stripe: invoices
  { api: "stripe", task: "what line items are on this invoice", expect: ["GetInvoicesInvoiceLines"] },
  { api: "stripe", task: "get the link to download an invoice as a PDF", expect: ["GetInvoicesInvoice"] },
  {
    api: "stripe",
    task: "the customer paid this invoice by check, record it as paid",
    expect: ["PostInvoicesInvoicePay"],
  },
  // Stripe: payments and refunds
  {
    api: "stripe",
    task: "why was this card payment declined",
    expect: ["GetChargesCharge", "GetPaymentIntentsIntent"],
  },
  { api: "stripe", task: "show me all refunds issued recently", expect: ["GetRefunds"] },
  { api: "stripe", task: "has this refund gone through yet", expect: ["GetRefundsRefund"] },
  {
    api: "stripe",
    task: "block any further payments from a known fraudster's email address",
    expect: ["PostRadarValueListItems"],
  },
  // Stripe: subscriptions
  {
    api: "stripe",
    task: "the customer needs 12 seats instead of 10 on their subscription",
    expect: ["PostSubscriptionItemsItem", "PostSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "add an extra add-on product to a subscription that already exists",
    expect: ["PostSubscriptionItems", "PostSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "end the trial right now and start billing",
    expect: ["PostSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "take a subscription off its schedule but keep it running as it is",
    expect: ["PostSubscriptionSchedulesScheduleRelease"],
  },
  // Stripe: products and prices
  { api: "stripe", task: "rename a product in the catalog", expect: ["PostProductsId"] },
  { api: "stripe", task: "which products have been deactivated", expect: ["GetProducts"] },
  {
    api: "stripe",
    task: "charge the same plan as 10 EUR in Europe and 12 USD in the US with one price",
    expect: ["PostPrices"],
  },
  {
    api: "stripe",
    task: "find the price whose lookup key is pro_monthly",
    expect: ["GetPrices", "GetPricesSearch"],
  },
  // Stripe: balance, payouts, disputes
  {
    api: "stripe",
    task: "which charges and fees were included in a given payout",
    expect: ["GetBalanceTransactions"],
  },
  {
    api: "stripe",
    task: "by when do I have to respond to this chargeback",
    expect: ["GetDisputesDispute"],
  },
  // Stripe: Connect
  {
    api: "stripe",
    task: "update the business name and support phone of a connected account",
    expect: ["PostAccountsAccount"],
  },
  {
    api: "stripe",
    task: "shut down a connected account we suspect of fraud",
    expect: ["PostAccountsAccountReject"],
  },
  {
    api: "stripe",
    task: "can this connected seller accept charges yet",
    expect: ["GetAccountsAccount"],
  },
  {
    api: "stripe",
    task: "add the bank account a connected account gets paid out to",
    expect: ["PostAccountsAccountExternalAccounts", "PostAccountsAccountBankAccounts"],
  },
  {
    api: "stripe",
    task: "keep a 10% platform fee when a buyer pays one of my sellers",
    expect: ["PostPaymentIntents", "PostCharges"],
  },
  {
    api: "stripe",
    task: "give back the platform fee we collected on a payment",
    expect: ["PostApplicationFeesIdRefunds", "PostApplicationFeesIdRefund"],
  },
  // Stripe: checkout and webhooks
  {
    api: "stripe",
    task: "what did the customer buy in this checkout session",
    expect: ["GetCheckoutSessionsSessionLineItems"],
  },
  {
    api: "stripe",
    task: "send people to a Stripe-hosted page to sign up for the yearly plan",
    expect: ["PostCheckoutSessions", "PostPaymentLinks"],
  },
  {
    api: "stripe",
    task: "temporarily stop sending events to one of my webhook URLs",
    expect: ["PostWebhookEndpointsWebhookEndpoint"],
  },
  {
    api: "stripe",
    task: "which event types is my webhook endpoint subscribed to",
    expect: ["GetWebhookEndpointsWebhookEndpoint", "GetWebhookEndpoints"],
  },
  {
    api: "stripe",
    task: "fetch an event by its id to make sure the webhook I received is real",
    expect: ["GetEventsId"],
  },
  // Stripe: customers, tax
  {
    api: "stripe",
    task: "save a business customer's EU VAT number",
    expect: ["PostCustomersCustomerTaxIds"],
  },
  {
    api: "stripe",
    task: "work out how much sales tax to add to an order shipped to Texas",
    expect: ["PostTaxCalculations"],
  },
  {
    api: "stripe",
    task: "send a customer's receipts and invoices in French",
    expect: ["PostCustomersCustomer"],
  },
  {
    api: "stripe",
    task: "history of credits and debits on a customer's account balance",
    expect: ["GetCustomersCustomerBalanceTransactions"],
  },
  // Stripe: issuing, identity, test clocks
  {
    api: "stripe",
    task: "issue a virtual card to an employee for travel expenses",
    expect: ["PostIssuingCards"],
  },
  {
    api: "stripe",
    task: "an employee lost their company card, cancel it",
    expect: ["PostIssuingCardsCard"],
  },
  {
    api: "stripe",
    task: "fast-forward time in test mode to see what happens at renewal",
    expect: ["PostTestHelpersTestClocks"],
  },
  {
    api: "stripe",
    task: "ask a user to prove who they are with a photo of their ID",
    expect: ["PostIdentityVerificationSessions"],
  },

  // Kubernetes: workloads
  {
    api: "kubernetes",
    task: "why does my container keep restarting: last exit code and termination reason",
    expect: ["readCoreV1NamespacedPod", "readCoreV1NamespacedPodStatus"],
  },
  {
    api: "kubernetes",
    task: "which node did my pod land on",
    expect: ["readCoreV1NamespacedPod", "readCoreV1NamespacedPodStatus"],
  },
  {
    api: "kubernetes",
    task: "force delete a pod stuck in Terminating with no grace period",
    expect: ["deleteCoreV1NamespacedPod"],
  },
  {
    api: "kubernetes",
    task: "undo the last rollout and go back to the previous pod template",
    expect: ["patchAppsV1NamespacedDeployment", "replaceAppsV1NamespacedDeployment"],
  },
  {
    api: "kubernetes",
    task: "pause a rollout halfway so I can check the new version",
    expect: ["patchAppsV1NamespacedDeployment", "replaceAppsV1NamespacedDeployment"],
  },
  {
    api: "kubernetes",
    task: "show the replica sets a deployment created over time",
    expect: ["listAppsV1NamespacedReplicaSet"],
  },
  {
    api: "kubernetes",
    task: "roll out a new agent image to the daemonset",
    expect: ["patchAppsV1NamespacedDaemonSet", "replaceAppsV1NamespacedDaemonSet"],
  },
  {
    api: "kubernetes",
    task: "remove a statefulset but leave its pods running (orphan them)",
    expect: ["deleteAppsV1NamespacedStatefulSet"],
  },
  // Kubernetes: services and networking
  {
    api: "kubernetes",
    task: "switch a service from ClusterIP to NodePort",
    expect: ["patchCoreV1NamespacedService", "replaceCoreV1NamespacedService"],
  },
  {
    api: "kubernetes",
    task: "what external IP did the cloud load balancer give my service",
    expect: ["readCoreV1NamespacedServiceStatus", "readCoreV1NamespacedService"],
  },
  {
    api: "kubernetes",
    task: "which ingress controllers are available to pick from",
    expect: ["listNetworkingV1IngressClass"],
  },
  // Kubernetes: config and secrets
  {
    api: "kubernetes",
    task: "store an application.properties file as configuration for my pods",
    expect: ["createCoreV1NamespacedConfigMap"],
  },
  {
    api: "kubernetes",
    task: "swap in a renewed TLS certificate in an existing secret",
    expect: ["replaceCoreV1NamespacedSecret", "patchCoreV1NamespacedSecret"],
  },
  {
    api: "kubernetes",
    task: "find the docker registry pull secrets (type kubernetes.io/dockerconfigjson)",
    expect: ["listCoreV1NamespacedSecret", "listCoreV1SecretForAllNamespaces"],
  },
  {
    api: "kubernetes",
    task: "let the default service account pull images from our private registry",
    expect: ["patchCoreV1NamespacedServiceAccount", "replaceCoreV1NamespacedServiceAccount"],
  },
  // Kubernetes: storage
  {
    api: "kubernetes",
    task: "keep the disk when its claim is deleted: set the volume's reclaim policy to Retain",
    expect: ["patchCoreV1PersistentVolume", "replaceCoreV1PersistentVolume"],
  },
  {
    api: "kubernetes",
    task: "add a fast SSD disk type that claims can ask for",
    expect: ["createStorageV1StorageClass"],
  },
  {
    api: "kubernetes",
    task: "make gp3 the default storage class",
    expect: ["patchStorageV1StorageClass", "replaceStorageV1StorageClass"],
  },
  {
    api: "kubernetes",
    task: "which node is this persistent disk attached to right now",
    expect: [
      "listStorageV1VolumeAttachment",
      "readStorageV1VolumeAttachment",
      "readStorageV1VolumeAttachmentStatus",
      "listStorageV1alpha1VolumeAttachment",
      "readStorageV1alpha1VolumeAttachment",
    ],
  },
  { api: "kubernetes", task: "what CSI drivers are installed", expect: ["listStorageV1CSIDriver"] },
  {
    api: "kubernetes",
    task: "register an NFS export as a volume the cluster can use",
    expect: ["createCoreV1PersistentVolume"],
  },
  // Kubernetes: RBAC
  {
    api: "kubernetes",
    task: "who has been granted cluster-admin",
    expect: ["listRbacAuthorizationV1ClusterRoleBinding"],
  },
  {
    api: "kubernetes",
    task: "a cluster-wide role allowed to get and list configmaps in every namespace",
    expect: ["createRbacAuthorizationV1ClusterRole"],
  },
  {
    api: "kubernetes",
    task: "delete the rolebinding that gives bob edit rights in staging",
    expect: ["deleteRbacAuthorizationV1NamespacedRoleBinding"],
  },
  // Kubernetes: nodes
  {
    api: "kubernetes",
    task: "how much CPU and memory can pods still use on this node (allocatable)",
    expect: ["readCoreV1Node", "readCoreV1NodeStatus"],
  },
  {
    api: "kubernetes",
    task: "label a node disktype=ssd so pods can target it",
    expect: ["patchCoreV1Node", "replaceCoreV1Node"],
  },
  {
    api: "kubernetes",
    task: "every pod that is running on node worker-3",
    expect: ["listCoreV1PodForAllNamespaces", "listCoreV1NamespacedPod"],
  },
  {
    api: "kubernetes",
    task: "which container runtimes such as gVisor can pods choose",
    expect: ["listNodeV1RuntimeClass", "listNodeV1beta1RuntimeClass", "listNodeV1alpha1RuntimeClass"],
  },
  // Kubernetes: autoscaling
  {
    api: "kubernetes",
    task: "let the autoscaler go up to 10 replicas instead of 5",
    expect: [
      "patchAutoscalingV1NamespacedHorizontalPodAutoscaler",
      "replaceAutoscalingV1NamespacedHorizontalPodAutoscaler",
      "patchAutoscalingV2beta1NamespacedHorizontalPodAutoscaler",
      "replaceAutoscalingV2beta1NamespacedHorizontalPodAutoscaler",
      "patchAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
      "replaceAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
    ],
  },
  {
    api: "kubernetes",
    task: "how many replicas does the HPA want right now and what CPU does it see",
    expect: [
      "readAutoscalingV1NamespacedHorizontalPodAutoscaler",
      "readAutoscalingV1NamespacedHorizontalPodAutoscalerStatus",
      "readAutoscalingV2beta1NamespacedHorizontalPodAutoscaler",
      "readAutoscalingV2beta1NamespacedHorizontalPodAutoscalerStatus",
      "readAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
      "readAutoscalingV2beta2NamespacedHorizontalPodAutoscalerStatus",
    ],
  },
  // Kubernetes: batch
  {
    api: "kubernetes",
    task: "how many pods of my job failed and how many succeeded",
    expect: ["readBatchV1NamespacedJobStatus", "readBatchV1NamespacedJob"],
  },
  {
    api: "kubernetes",
    task: "run the nightly backup cronjob right now instead of waiting for its schedule",
    expect: ["createBatchV1NamespacedJob"],
  },
  {
    api: "kubernetes",
    task: "every cronjob across the whole cluster",
    expect: ["listBatchV1CronJobForAllNamespaces", "listBatchV1beta1CronJobForAllNamespaces"],
  },
  // Kubernetes: policy
  {
    api: "kubernetes",
    task: "which disruption budgets are set for the apps in this namespace",
    expect: ["listPolicyV1NamespacedPodDisruptionBudget", "listPolicyV1beta1NamespacedPodDisruptionBudget"],
  },
  {
    api: "kubernetes",
    task: "forbid privileged containers with a PodSecurityPolicy",
    expect: ["createPolicyV1beta1PodSecurityPolicy"],
  },
  {
    api: "kubernetes",
    task: "how much of the namespace's quota is already used",
    expect: ["readCoreV1NamespacedResourceQuotaStatus", "readCoreV1NamespacedResourceQuota"],
  },
  // Kubernetes: cluster and extensions
  {
    api: "kubernetes",
    task: "are the scheduler, controller manager and etcd healthy",
    expect: ["listCoreV1ComponentStatus", "readCoreV1ComponentStatus"],
  },
  {
    api: "kubernetes",
    task: "what CRDs have been installed in the cluster",
    expect: ["listApiextensionsV1CustomResourceDefinition"],
  },
  {
    api: "kubernetes",
    task: "show the CSRs that are still pending approval",
    expect: ["listCertificatesV1CertificateSigningRequest"],
  },
  {
    api: "kubernetes",
    task: "which webhooks can modify my objects before they are stored",
    expect: ["listAdmissionregistrationV1MutatingWebhookConfiguration"],
  },
];
