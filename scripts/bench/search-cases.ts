/**
 * Everyday GitHub tasks in plain words and the operation each means: the discovery search
 * must rank that operation first. Used by the bench (search quality) and by
 * test/scripts/discovery-github.test.ts.
 */
export const GITHUB_SEARCH_CASES: ReadonlyArray<readonly [query: string, operation: string]> = [
  ["create issue", "issues_create"],
  ["list pull requests", "pulls_list"],
  ["get repository", "repos_get"],
  ["delete a label", "issues_delete-label"],
  ["star a repository", "activity_star-repo-for-authenticated-user"],
  ["add labels to an issue", "issues_add-labels"],
  ["merge a pull request", "pulls_merge"],
  ["list commits", "repos_list-commits"],
  ["create a gist", "gists_create"],
  ["get the authenticated user", "users_get-authenticated"],
  ["list workflow runs", "actions_list-workflow-runs"],
  ["create release", "repos_create-release"],
  ["search code", "search_code"],
  ["fork a repo", "repos_create-fork"],
  ["list branches", "repos_list-branches"],
  ["create webhook", "repos_create-webhook"],
  ["rerun a failed workflow", "actions_re-run-workflow-failed-jobs"],
  ["download artifact", "actions_download-artifact"],
  ["list my notifications", "activity_list-notifications-for-authenticated-user"],
  ["get file contents", "repos_get-content"],
  ["create or update a file", "repos_create-or-update-file-contents"],
  ["request reviewers for a pull request", "pulls_request-reviewers"],
  ["list collaborators", "repos_list-collaborators"],
  ["add a collaborator", "repos_add-collaborator"],
  ["create a repository for the authenticated user", "repos_create-for-authenticated-user"],
  ["list organization members", "orgs_list-members"],
  ["create a deployment", "repos_create-deployment"],
  ["get rate limit", "rate-limit_get"],
  ["list tags", "repos_list-tags"],
  ["compare two commits", "repos_compare-commits"],
];
