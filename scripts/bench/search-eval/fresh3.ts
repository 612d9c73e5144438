/**
 * The third fresh held-out part of the search evaluation (#15): 120 tasks, 40 per API, outside the
 * split and outside fresh.ts and fresh2.ts. Written blind in session 8, after fresh2.ts was scored:
 * the author saw neither the engine (its source, tests or history) nor any score, nor the other
 * parts' tasks, and ran no search. Each `expect` comes from the compiled bundles alone; no task was
 * dropped or rephrased for how it might rank. About a third each: plain requests, paraphrases and
 * indirect goals. See README.md beside this file.
 *
 * Scored once, at the end of the round: `evaluate.ts fresh3`, or the bench with SEARCH_EVAL_FRESH3=1.
 */
import type { EvalCase } from "./evaluate.ts";

export const FRESH3_CASES: readonly EvalCase[] = [
  // GitHub: plain requests.
  { api: "github", task: "list the commits on a pull request", expect: ["pulls/list-commits"] },
  { api: "github", task: "create a label in a repository", expect: ["issues/create-label"] },
  { api: "github", task: "list the collaborators of a repository", expect: ["repos/list-collaborators"] },
  { api: "github", task: "delete the protection of a branch", expect: ["repos/delete-branch-protection"] },
  {
    api: "github",
    task: "rerun only the failed jobs of a workflow run",
    expect: ["actions/re-run-workflow-failed-jobs"],
  },
  { api: "github", task: "list the Actions secrets of a repository", expect: ["actions/list-repo-secrets"] },
  { api: "github", task: "update a milestone", expect: ["issues/update-milestone"] },
  { api: "github", task: "lock an issue", expect: ["issues/lock"] },
  {
    api: "github",
    task: "list the members of a team in an organization",
    expect: ["teams/list-members-in-org"],
  },
  { api: "github", task: "list the deploy keys of a repository", expect: ["repos/list-deploy-keys"] },
  { api: "github", task: "delete a comment on a gist", expect: ["gists/delete-comment"] },
  {
    api: "github",
    task: "list the autolink references of a repository",
    expect: ["repos/list-autolinks"],
  },
  {
    api: "github",
    task: "get the combined commit status for a ref",
    expect: ["repos/get-combined-status-for-ref"],
  },
  // GitHub: paraphrases.
  { api: "github", task: "who is watching this repository", expect: ["activity/list-watchers-for-repo"] },
  { api: "github", task: "which files did this pull request touch", expect: ["pulls/list-files"] },
  { api: "github", task: "what languages is this repo written in", expect: ["repos/list-languages"] },
  { api: "github", task: "show me every tag of this repository", expect: ["repos/list-tags"] },
  { api: "github", task: "how many API calls do I have left this hour", expect: ["rate-limit/get"] },
  { api: "github", task: "which organizations is this user part of", expect: ["orgs/list-for-user"] },
  { api: "github", task: "who has forked this repo", expect: ["repos/list-forks"] },
  {
    api: "github",
    task: "grab the log archive of a workflow run",
    expect: ["actions/download-workflow-run-logs"],
  },
  { api: "github", task: "what's in the newest release", expect: ["repos/get-latest-release"] },
  { api: "github", task: "turn off GitHub Pages for this repo", expect: ["repos/delete-pages-site"] },
  { api: "github", task: "give a branch a new name", expect: ["repos/rename-branch"] },
  { api: "github", task: "who follows this user", expect: ["users/list-followers-for-user"] },
  {
    api: "github",
    task: "which repos has this user starred",
    expect: ["activity/list-repos-starred-by-user"],
  },
  // GitHub: indirect goals.
  {
    api: "github",
    task: "I need to stop people from pushing straight to main without a review",
    expect: ["repos/update-branch-protection", "repos/create-repo-ruleset"],
  },
  { api: "github", task: "our CI run is stuck, make it stop", expect: ["actions/cancel-workflow-run"] },
  {
    api: "github",
    task: "I want our server to hear about every push to this repo",
    expect: ["repos/create-webhook"],
  },
  {
    api: "github",
    task: "a bot left a spam comment on my issue, get rid of it",
    expect: ["issues/delete-comment"],
  },
  {
    api: "github",
    task: "Alice should be the one working on this issue",
    expect: ["issues/add-assignees", "issues/update"],
  },
  {
    api: "github",
    task: "I think an access token leaked in a commit; has GitHub flagged anything?",
    expect: ["secret-scanning/list-alerts-for-repo"],
  },
  { api: "github", task: "we're moving this project to another organization", expect: ["repos/transfer"] },
  { api: "github", task: "I need my own copy of this repo under my account", expect: ["repos/create-fork"] },
  {
    api: "github",
    task: "this project is finished; make the repo read-only for good",
    expect: ["repos/update"],
  },
  {
    api: "github",
    task: "the production deploy finished, record that it succeeded",
    expect: ["repos/create-deployment-status"],
  },
  {
    api: "github",
    task: "I want to kick off the nightly workflow by hand right now",
    expect: ["actions/create-workflow-dispatch"],
  },
  {
    api: "github",
    task: "my new laptop needs to be able to push over SSH",
    expect: ["users/create-public-ssh-key-for-authenticated-user"],
  },
  {
    api: "github",
    task: "write the changelog for me from the PRs merged since the last tag",
    expect: ["repos/generate-release-notes"],
  },
  {
    api: "github",
    task: "someone keeps harassing people in our org; keep them out of all our repos",
    expect: ["orgs/block-user"],
  },

  // Stripe: plain requests.
  { api: "stripe", task: "update a product", expect: ["PostProductsId"] },
  { api: "stripe", task: "cancel a payout", expect: ["PostPayoutsPayoutCancel"] },
  { api: "stripe", task: "list all payouts", expect: ["GetPayouts"] },
  { api: "stripe", task: "cancel a payment intent", expect: ["PostPaymentIntentsIntentCancel"] },
  { api: "stripe", task: "delete a coupon", expect: ["DeleteCouponsCoupon"] },
  { api: "stripe", task: "create a coupon", expect: ["PostCoupons"] },
  { api: "stripe", task: "list balance transactions", expect: ["GetBalanceTransactions"] },
  { api: "stripe", task: "create a webhook endpoint", expect: ["PostWebhookEndpoints"] },
  {
    api: "stripe",
    task: "detach a payment method from a customer",
    expect: ["PostPaymentMethodsPaymentMethodDetach"],
  },
  { api: "stripe", task: "confirm a setup intent", expect: ["PostSetupIntentsIntentConfirm"] },
  { api: "stripe", task: "list the line items of an invoice", expect: ["GetInvoicesInvoiceLines"] },
  { api: "stripe", task: "expire a checkout session", expect: ["PostCheckoutSessionsSessionExpire"] },
  { api: "stripe", task: "create a transfer to a connected account", expect: ["PostTransfers"] },
  // Stripe: paraphrases.
  { api: "stripe", task: "email this invoice to the customer", expect: ["PostInvoicesInvoiceSend"] },
  {
    api: "stripe",
    task: "collect the money we only authorized earlier",
    expect: ["PostPaymentIntentsIntentCapture"],
  },
  {
    api: "stripe",
    task: "let a subscription run out at the end of the current period instead of renewing",
    expect: ["PostSubscriptionsSubscriptionExposedId"],
  },
  {
    api: "stripe",
    task: "show the charges made to one customer",
    expect: ["GetCharges", "GetChargesSearch"],
  },
  {
    api: "stripe",
    task: "start billing a paused subscription again",
    expect: ["PostSubscriptionsSubscriptionResume"],
  },
  { api: "stripe", task: "keep a customer's VAT number on file", expect: ["PostCustomersCustomerTaxIds"] },
  { api: "stripe", task: "concede a dispute we can't win", expect: ["PostDisputesDisputeClose"] },
  { api: "stripe", task: "make a shareable link people can pay through", expect: ["PostPaymentLinks"] },
  {
    api: "stripe",
    task: "reduce the amount of an invoice that's already finalized with a credit",
    expect: ["PostCreditNotes"],
  },
  { api: "stripe", task: "stop selling a price without deleting it", expect: ["PostPricesPrice"] },
  {
    api: "stripe",
    task: "look up a customer by email address",
    expect: ["GetCustomersSearch", "GetCustomers"],
  },
  { api: "stripe", task: "what has happened on my account lately", expect: ["GetEvents"] },
  {
    api: "stripe",
    task: "record that an invoice was paid by cheque, outside Stripe",
    expect: ["PostInvoicesInvoicePay"],
  },
  {
    api: "stripe",
    task: "get a hosted onboarding link for a connected account",
    expect: ["PostAccountLinks"],
  },
  // Stripe: indirect goals.
  {
    api: "stripe",
    task: "a customer wants their money back for yesterday's order",
    expect: ["PostRefunds", "PostChargesChargeRefund", "PostChargesChargeRefunds"],
  },
  {
    api: "stripe",
    task: "my customer's card expired and they gave me a new one; bill that one from now on",
    expect: ["PostCustomersCustomer"],
  },
  {
    api: "stripe",
    task: "I want to see what happens when a subscription renews next month without waiting a month",
    expect: ["PostTestHelpersTestClocksTestClockAdvance"],
  },
  {
    api: "stripe",
    task: "a fraudster keeps using the same card number, make sure it's refused from now on",
    expect: ["PostRadarValueListItems"],
  },
  {
    api: "stripe",
    task: "I need the money in my bank today, not on the usual schedule",
    expect: ["PostPayouts"],
  },
  {
    api: "stripe",
    task: "our new customer should be charged every month for the Pro plan",
    expect: ["PostSubscriptions"],
  },
  {
    api: "stripe",
    task: "the customer is moving from Basic to Pro halfway through the month",
    expect: ["PostSubscriptionsSubscriptionExposedId", "PostSubscriptionItemsItem"],
  },
  {
    api: "stripe",
    task: "before it goes out, I'd like to know what this customer's next bill will be",
    expect: ["GetInvoicesUpcoming", "PostInvoicesCreatePreview"],
  },
  {
    api: "stripe",
    task: "we must check a seller's passport before they can sell on our marketplace",
    expect: ["PostIdentityVerificationSessions"],
  },
  {
    api: "stripe",
    task: "customers should update their own billing details and download invoices themselves",
    expect: ["PostBillingPortalSessions"],
  },
  {
    api: "stripe",
    task: "our new employee needs a company card for travel expenses",
    expect: ["PostIssuingCards"],
  },
  {
    api: "stripe",
    task: "work out how much sales tax to add to this order before checkout",
    expect: ["PostTaxCalculations"],
  },
  {
    api: "stripe",
    task: "banks pulled money back on some payments after customers complained; show me those cases",
    expect: ["GetDisputes"],
  },

  // Kubernetes: plain requests.
  { api: "kubernetes", task: "list all namespaces", expect: ["listCoreV1Namespace"] },
  { api: "kubernetes", task: "create a config map", expect: ["createCoreV1NamespacedConfigMap"] },
  {
    api: "kubernetes",
    task: "delete a persistent volume claim",
    expect: ["deleteCoreV1NamespacedPersistentVolumeClaim"],
  },
  {
    api: "kubernetes",
    task: "read the status of a deployment",
    expect: ["readAppsV1NamespacedDeploymentStatus", "readAppsV1NamespacedDeployment"],
  },
  {
    api: "kubernetes",
    task: "list the events in a namespace",
    expect: ["listCoreV1NamespacedEvent", "listEventsV1NamespacedEvent", "listEventsV1beta1NamespacedEvent"],
  },
  {
    api: "kubernetes",
    task: "create a cluster role",
    expect: ["createRbacAuthorizationV1ClusterRole", "createRbacAuthorizationV1alpha1ClusterRole"],
  },
  {
    api: "kubernetes",
    task: "delete a horizontal pod autoscaler",
    expect: [
      "deleteAutoscalingV1NamespacedHorizontalPodAutoscaler",
      "deleteAutoscalingV2beta1NamespacedHorizontalPodAutoscaler",
      "deleteAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
    ],
  },
  {
    api: "kubernetes",
    task: "delete a cron job",
    expect: ["deleteBatchV1NamespacedCronJob", "deleteBatchV1beta1NamespacedCronJob"],
  },
  {
    api: "kubernetes",
    task: "create a network policy",
    expect: ["createNetworkingV1NamespacedNetworkPolicy"],
  },
  { api: "kubernetes", task: "list the nodes", expect: ["listCoreV1Node"] },
  {
    api: "kubernetes",
    task: "get a custom resource definition",
    expect: ["readApiextensionsV1CustomResourceDefinition"],
  },
  { api: "kubernetes", task: "patch a stateful set", expect: ["patchAppsV1NamespacedStatefulSet"] },
  {
    api: "kubernetes",
    task: "list daemon sets in all namespaces",
    expect: ["listAppsV1DaemonSetForAllNamespaces"],
  },
  // Kubernetes: paraphrases.
  { api: "kubernetes", task: "show me what a container printed", expect: ["readCoreV1NamespacedPodLog"] },
  {
    api: "kubernetes",
    task: "stop new pods from landing on this node",
    expect: ["patchCoreV1Node", "replaceCoreV1Node"],
  },
  {
    api: "kubernetes",
    task: "which services exist across the whole cluster",
    expect: ["listCoreV1ServiceForAllNamespaces"],
  },
  {
    api: "kubernetes",
    task: "change the container image a deployment runs",
    expect: ["patchAppsV1NamespacedDeployment", "replaceAppsV1NamespacedDeployment"],
  },
  {
    api: "kubernetes",
    task: "am I allowed to delete pods in this namespace?",
    expect: ["createAuthorizationV1SelfSubjectAccessReview"],
  },
  {
    api: "kubernetes",
    task: "wipe out every pod in a namespace in one go",
    expect: ["deleteCoreV1CollectionNamespacedPod"],
  },
  {
    api: "kubernetes",
    task: "what version of Kubernetes is the cluster running",
    expect: ["getCodeVersion"],
  },
  {
    api: "kubernetes",
    task: "mint a short-lived token for a service account",
    expect: ["createCoreV1NamespacedServiceAccountToken"],
  },
  {
    api: "kubernetes",
    task: "cap the total CPU a namespace may use",
    expect: ["createCoreV1NamespacedResourceQuota"],
  },
  {
    api: "kubernetes",
    task: "show all the pods across the cluster",
    expect: ["listCoreV1PodForAllNamespaces"],
  },
  {
    api: "kubernetes",
    task: "evict a pod from its node, respecting disruption budgets",
    expect: ["createCoreV1NamespacedPodEviction"],
  },
  {
    api: "kubernetes",
    task: "assign a pod to a specific node myself",
    expect: ["createCoreV1NamespacedPodBinding", "createCoreV1NamespacedBinding"],
  },
  {
    api: "kubernetes",
    task: "what ingress rules does this namespace have",
    expect: ["listNetworkingV1NamespacedIngress"],
  },
  // Kubernetes: indirect goals.
  {
    api: "kubernetes",
    task: "my app needs more copies running to handle the traffic",
    expect: [
      "patchAppsV1NamespacedDeploymentScale",
      "replaceAppsV1NamespacedDeploymentScale",
      "patchAppsV1NamespacedDeployment",
    ],
  },
  {
    api: "kubernetes",
    task: "I want the app to add pods by itself when CPU goes up",
    expect: [
      "createAutoscalingV1NamespacedHorizontalPodAutoscaler",
      "createAutoscalingV2beta1NamespacedHorizontalPodAutoscaler",
      "createAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
    ],
  },
  {
    api: "kubernetes",
    task: "run the database migration once to completion and then stop",
    expect: ["createBatchV1NamespacedJob"],
  },
  {
    api: "kubernetes",
    task: "back up the database every night at 2am",
    expect: ["createBatchV1NamespacedCronJob", "createBatchV1beta1NamespacedCronJob"],
  },
  {
    api: "kubernetes",
    task: "we have an NFS share the cluster should be able to use as storage",
    expect: ["createCoreV1PersistentVolume"],
  },
  {
    api: "kubernetes",
    task: "make sure at least two replicas stay up while nodes are drained for maintenance",
    expect: [
      "createPolicyV1NamespacedPodDisruptionBudget",
      "createPolicyV1beta1NamespacedPodDisruptionBudget",
    ],
  },
  {
    api: "kubernetes",
    task: "the new team needs its own separate space in the cluster",
    expect: ["createCoreV1Namespace"],
  },
  {
    api: "kubernetes",
    task: "send traffic for shop.example.com to my web service",
    expect: ["createNetworkingV1NamespacedIngress"],
  },
  {
    api: "kubernetes",
    task: "the app needs 10Gi of disk that survives pod restarts",
    expect: ["createCoreV1NamespacedPersistentVolumeClaim"],
  },
  {
    api: "kubernetes",
    task: "give the CI robot its own identity in the cluster",
    expect: ["createCoreV1NamespacedServiceAccount"],
  },
  {
    api: "kubernetes",
    task: "I need to know whether this node is running out of disk",
    expect: ["readCoreV1NodeStatus", "readCoreV1Node"],
  },
  {
    api: "kubernetes",
    task: "a new node's kubelet is waiting for its certificate to be signed off",
    expect: [
      "replaceCertificatesV1CertificateSigningRequestApproval",
      "patchCertificatesV1CertificateSigningRequestApproval",
    ],
  },
  {
    api: "kubernetes",
    task: "our admission service should check every pod before it is created",
    expect: ["createAdmissionregistrationV1ValidatingWebhookConfiguration"],
  },
  {
    api: "kubernetes",
    task: "critical pods should get scheduled ahead of everything else",
    expect: ["createSchedulingV1PriorityClass", "createSchedulingV1alpha1PriorityClass"],
  },
];
