"""Automatic message rules: create, change, remove, list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.errors import InvalidInput, UserError
from app.domain.models import Workspace
from app.domain.rules import Rule, RuleSpec, check_rule
from app.services.audience import Audience
from app.services.messaging import RulesCache
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import rules as store_rules
from app.store.database import Store


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule | None = None
    errors: list[UserError] = field(default_factory=list)


_NOT_FOUND = UserError("RULE_NOT_FOUND", "No message rule has this id.", ("id",))


class Rules:
    def __init__(
        self, *, store: Store, settings: Settings, workspace: Workspace, cache: RulesCache
    ) -> None:
        self._store = store
        self._settings = settings
        self._workspace = workspace
        self._cache = cache

    async def all(self) -> list[Rule]:
        return await store_rules.all_rules(self._store, workspace_id=self._workspace.id)

    async def _checked(
        self, spec: RuleSpec, *, now: datetime
    ) -> tuple[RuleSpec | None, list[UserError]]:
        errors: list[UserError] = []
        try:
            checked: RuleSpec | None = check_rule(
                spec, allow_private_hosts=self._settings.webhook_allow_private_hosts
            )
        except InvalidInput as e:
            checked, errors = None, e.errors
        if spec.audience is not None:
            audience = Audience(store=self._store, workspace=self._workspace)
            problems = await audience.check_filter(spec.audience, now=now)
            errors += [
                UserError(p.code, p.message, ("audience", *(p.field or ())[1:])) for p in problems
            ]
        return (None, errors) if errors else (checked, [])

    async def _over_cap(self, spec: RuleSpec, *, rule_id: str | None) -> UserError | None:
        """At most TALLY_MAX_AUDIENCE_RULES AUDIENCE rules: each may add its id to a contact."""
        if spec.trigger_kind != "AUDIENCE":
            return None
        cap = self._settings.max_audience_rules
        count = await store_rules.count_audience_rules(
            self._store, workspace_id=self._workspace.id, other_than=rule_id
        )
        if count < cap:
            return None
        return UserError(
            "TOO_MANY_AUDIENCE_RULES",
            f"This workspace has {cap} AUDIENCE rules, the most it may have.",
            ("trigger", "kind"),
        )

    async def create(self, spec: RuleSpec, *, now: datetime) -> RuleOutcome:
        checked, errors = await self._checked(spec, now=now)
        if checked is None:
            return RuleOutcome(errors=errors)
        problem = await self._over_cap(checked, rule_id=None)
        if problem is not None:
            return RuleOutcome(errors=[problem])
        rule = await store_rules.insert_rule(
            self._store, workspace_id=self._workspace.id, spec=checked, now=now
        )
        self._cache.forget(self._workspace.id)
        return RuleOutcome(rule=rule)

    async def update(self, rule_id: str, spec: RuleSpec, *, now: datetime) -> RuleOutcome:
        checked, errors = await self._checked(spec, now=now)
        if checked is None:
            return RuleOutcome(errors=errors)
        problem = await self._over_cap(checked, rule_id=rule_id)
        if problem is not None:
            return RuleOutcome(errors=[problem])
        rule = await store_rules.replace_rule(
            self._store, workspace_id=self._workspace.id, rule_id=rule_id, spec=checked, now=now
        )
        self._cache.forget(self._workspace.id)
        if rule is not None and checked.trigger_kind != "AUDIENCE":
            await store_contacts.forget_audience_rule(
                self._store, workspace_id=self._workspace.id, rule_id=rule_id
            )
        return RuleOutcome(rule=rule) if rule else RuleOutcome(errors=[_NOT_FOUND])

    async def delete(self, rule_id: str) -> RuleOutcome:
        rule = await store_rules.delete_rule(
            self._store, workspace_id=self._workspace.id, rule_id=rule_id
        )
        self._cache.forget(self._workspace.id)
        if rule is not None and rule.spec.trigger_kind == "AUDIENCE":
            await store_contacts.forget_audience_rule(
                self._store, workspace_id=self._workspace.id, rule_id=rule_id
            )
        return RuleOutcome(rule=rule) if rule else RuleOutcome(errors=[_NOT_FOUND])
