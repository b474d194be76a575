/** Steps through the dashboard that several browser tests take the same way. */
import type { Locator, Page } from "playwright-core";

/**
 * Creates a project for `folder` from the Projects page and opens its new-profile wizard on
 * the given context and namespace; returns the profile form (its services list loading).
 * `namespacesListed: false` is a user who may not list namespaces: the field is typed into.
 */
export async function newProfileWizard(page: Page, options: { project: string; folder: string; context: string; namespace: string; namespacesListed?: boolean }): Promise<Locator> {
  await page.getByRole("link", { name: "Projects & profiles" }).click();
  const projectForm = page.getByRole("form", { name: "New project" });
  await projectForm.getByLabel("Project name").fill(options.project);
  await projectForm.getByLabel("Folder").fill(options.folder);
  await projectForm.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("heading", { name: options.project, level: 1 }).waitFor();
  await page.getByRole("link", { name: "New profile" }).click();
  const profileForm = page.getByRole("form", { name: "New profile" });
  // The wizard: the context from the kubeconfig, the namespace from the cluster's live list.
  await profileForm.getByRole("combobox", { name: "Kube context" }).selectOption(options.context);
  if (options.namespacesListed === false) {
    await profileForm.getByText("Type the namespace you work in.").waitFor();
    await profileForm.getByRole("textbox", { name: "Namespace" }).fill(options.namespace);
  } else {
    await profileForm.getByRole("combobox", { name: "Namespace" }).selectOption(options.namespace);
  }
  return profileForm;
}
