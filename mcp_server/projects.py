"""Project tools: projects, their tasks, status and due dates (ISO YYYY-MM-DD, validated)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import sqlite_utils
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_server.db import ToolsDB, clean, iso_date, key, now, tool

ProjectName = Annotated[str, Field(description="Project name, e.g. Kitchen renovation")]
Due = Annotated[str | None, Field(description="Due date as YYYY-MM-DD")]
ProjectStatus = Literal["active", "paused", "done"]
TaskStatus = Literal["todo", "doing", "done"]


def _project(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM projects WHERE name_key = ?", [key(name)]))
    if not rows:
        names = [r["name"] for r in db.query("SELECT name FROM projects ORDER BY name_key LIMIT 20")]
        known = ("Known projects: " + ", ".join(names) + ".") if names else "There are no projects yet."
        raise ToolError(f"No project is called {name}. {known} Use add_project to create it.")
    return rows[0]


def _task(db: sqlite_utils.Database, project: dict[str, Any], title: str) -> dict[str, Any]:
    rows = list(
        db.query("SELECT * FROM tasks WHERE project_id = ? AND title_key = ?", [project["id"], key(title)])
    )
    if not rows and title.strip().isdigit():
        rows = list(
            db.query("SELECT * FROM tasks WHERE project_id = ? AND id = ?", [project["id"], int(title)])
        )
    if not rows:
        raise ToolError(
            f"Project {project['name']} has no task called {title}. Use list_tasks to see its tasks."
        )
    return rows[0]


def _due_text(due: str | None) -> str:
    if not due:
        return ""
    overdue = due < date.today().isoformat()
    return f", due {due}" + (" (overdue)" if overdue else "")


def register(server: MCPServer, db: ToolsDB) -> None:
    @tool(server)
    def add_project(
        name: ProjectName,
        due: Due = None,
        notes: Annotated[str | None, Field(description="One line about the project")] = None,
    ) -> str:
        """Create a new project for the user (status active)."""
        title = clean(name, "name")
        assert title is not None
        due_date = iso_date(due)
        with db.connect() as conn:
            if list(conn.query("SELECT id FROM projects WHERE name_key = ?", [key(title)])):
                raise ToolError(f"A project called {title} already exists. Use update_project to change it.")
            stamp = now()
            conn.table("projects").insert(
                {
                    "name": title,
                    "name_key": key(title),
                    "status": "active",
                    "due": due_date,
                    "notes": clean(notes, "notes", required=False, max_len=500),
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        return f"Created project {title}{_due_text(due_date)}."

    @tool(server)
    def update_project(name: ProjectName, status: ProjectStatus | None = None, due: Due = None) -> str:
        """Change a project's status (active, paused or done) or its due date."""
        if status is None and due is None:
            raise ToolError("Give a new status or a new due date for the project.")
        due_date = iso_date(due)
        with db.connect() as conn:
            row = _project(conn, name)
            changes: dict[str, Any] = {"updated_at": now()}
            if status:
                changes["status"] = status
            if due_date:
                changes["due"] = due_date
            conn.table("projects").update(row["id"], changes)
            row = _project(conn, name)
        return f"Project {row['name']} is {row['status']}{_due_text(row['due'])}."

    @tool(server)
    def list_projects(status: ProjectStatus | None = None) -> str:
        """List projects with status, due date and open task count. Optional filter: status."""
        sql = (
            "SELECT p.*, (SELECT COUNT(*) FROM tasks t "
            "WHERE t.project_id = p.id AND t.status != 'done') AS open "
            "FROM projects p"
        )
        params: list[Any] = []
        if status:
            sql += " WHERE p.status = ?"
            params.append(status)
        with db.connect() as conn:
            rows = list(conn.query(sql + " ORDER BY p.due IS NULL, p.due, p.name_key", params))
        if not rows:
            return "No projects" + (f" are {status}." if status else " yet.")
        return (
            "; ".join(
                f"{r['name']}: {r['status']}{_due_text(r['due'])}, {r['open']} open task(s)" for r in rows
            )
            + "."
        )

    @tool(server)
    def add_task(
        project: ProjectName, title: Annotated[str, Field(description="What needs doing")], due: Due = None
    ) -> str:
        """Add a task to an existing project."""
        what = clean(title, "title")
        assert what is not None
        due_date = iso_date(due)
        with db.connect() as conn:
            row = _project(conn, project)
            stamp = now()
            conn.table("tasks").insert(
                {
                    "project_id": row["id"],
                    "title": what,
                    "title_key": key(what),
                    "status": "todo",
                    "due": due_date,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        return f"Added task {what} to {row['name']}{_due_text(due_date)}."

    @tool(server)
    def update_task(
        project: ProjectName,
        task: Annotated[str, Field(description="The task's title")],
        status: TaskStatus | None = None,
        due: Due = None,
    ) -> str:
        """Change a task's status (todo, doing or done) or its due date."""
        if status is None and due is None:
            raise ToolError("Give a new status or a new due date for the task.")
        due_date = iso_date(due)
        with db.connect() as conn:
            proj = _project(conn, project)
            row = _task(conn, proj, task)
            changes: dict[str, Any] = {"updated_at": now()}
            if status:
                changes["status"] = status
            if due_date:
                changes["due"] = due_date
            conn.table("tasks").update(row["id"], changes)
            row = _task(conn, proj, row["title"])
        return f"Task {row['title']} in {proj['name']} is {row['status']}{_due_text(row['due'])}."

    @tool(server)
    def list_tasks(
        project: Annotated[str | None, Field(description="Only this project's tasks")] = None,
        status: TaskStatus | None = None,
        due_before: Annotated[str | None, Field(description="Only tasks due on or before YYYY-MM-DD")] = None,
    ) -> str:
        """List tasks, soonest due first. Optional filters: project, status, due_before."""
        sql = "SELECT t.*, p.name AS project FROM tasks t JOIN projects p ON p.id = t.project_id WHERE 1=1"
        params: list[Any] = []
        limit_date = iso_date(due_before, "due_before")
        with db.connect() as conn:
            if project and project.strip():
                sql += " AND t.project_id = ?"
                params.append(_project(conn, project)["id"])
            if status:
                sql += " AND t.status = ?"
                params.append(status)
            if limit_date:
                sql += " AND t.due IS NOT NULL AND t.due <= ?"
                params.append(limit_date)
            rows = list(conn.query(sql + " ORDER BY t.due IS NULL, t.due, t.id LIMIT 100", params))
        if not rows:
            return "No tasks match." if params else "No tasks yet."
        return (
            "; ".join(f"{r['title']} ({r['project']}): {r['status']}{_due_text(r['due'])}" for r in rows)
            + "."
        )
