/** All projects or one: the `project` parameter of the URL (by name, as the API accepts). */
import { useId } from "react";
import { useProjects } from "../api/queries";
import { useViewState } from "../lib/useViewState";
import { withProject } from "../lib/urlState";

export function ProjectSwitcher() {
  const { state, setState } = useViewState();
  const projects = useProjects();
  const id = useId();
  const names = projects.data?.map((project) => project.name) ?? [];
  // A link may name a project this list does not have (yet): keep it selectable.
  if (state.project && !names.includes(state.project)) names.push(state.project);

  return (
    <>
      <label htmlFor={id} className="sr-only">
        Project
      </label>
      <select
        id={id}
        className="input max-w-48"
        value={state.project ?? ""}
        disabled={projects.isError}
        title={projects.isError ? "Projects could not be loaded" : undefined}
        onChange={(event) => setState(withProject(state, event.target.value || undefined))}
      >
        <option value="">{projects.isPending ? "Loading projects…" : "All projects"}</option>
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </>
  );
}
