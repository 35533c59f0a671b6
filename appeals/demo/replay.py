"""Playing the stories: each appeal is filed and moved through `appeals.services` by the users
who would have done it, each call at its story's simulated moment (time-machine), so that the
timelines, history and deadlines are the ones the platform itself would have written."""

from __future__ import annotations

import random
from datetime import datetime

import time_machine

from appeals import services
from appeals.demo.city import City
from appeals.demo.stories import Story, StoryTime, required
from appeals.demo.texts import (
    BASIC_COMMENTS,
    FOLLOWUPS,
    HEAD_SEND_BACK,
    OFFICE_SEND_BACK,
    OPINIONS,
    REHANDLE_COMMENTS,
    REPLY_TEXTS,
    SATISFIED_COMMENTS,
    STAFF_CLOSE_NOTES,
    UNSATISFIED_COMMENTS,
)
from appeals.models import Appeal, Assignment, Rating, Reply
from departments.models import Category, Department
from departments.selectors import routing_suggest


class Replay:
    """One for the whole build: its generators carry on from one story to the next."""

    def __init__(self, *, city: City, rng: random.Random, time_rng: random.Random, limit: datetime):
        self.city = city
        self.rng = rng
        self.time_rng = time_rng
        self.limit = limit

    def _call(self, moment: datetime, service, **kwargs):
        with time_machine.travel(moment, tick=False):
            return service(**kwargs)

    def play(self, s: Story) -> None:
        """Files the story's appeal, then plays its scenario."""
        when = StoryTime(s.filed_at, self.limit, self.time_rng)
        enterprise = s.enterprise
        filed = self._call(
            s.filed_at,
            services.appeal_file,
            actor=s.filer,
            channel=s.channel,
            title=s.title,
            content=s.content,
            enterprise_name=enterprise.name if enterprise else "",
            credit_code=enterprise.credit_code if enterprise else "",
            contact_name=enterprise.contact_name if enterprise else "",
            contact_phone=enterprise.contact_phone if enterprise else "",
            is_anonymous=s.anonymous,
            # About a third of the named filers ask for every step by SMS; chosen from the
            # filing time, not the story's random stream, so the demo's other draws stay put.
            sms_opt_in=enterprise is not None and (s.filed_at.day + s.filed_at.hour) % 3 == 0,
            category=s.filed_category,
            region=s.region if enterprise is None else None,
            priority=s.priority,
        )
        s.appeal_id, s.number = filed.appeal.pk, filed.appeal.number
        s.commissioner = self.city.commissioner_for(filed.appeal)
        getattr(self, f"_story_{s.scenario}")(s, when)

    # Scenarios. Each one plays the steps a real appeal of that kind would have taken.

    def _story_triage_new(self, s: Story, when: StoryTime) -> None:
        pass

    def _story_triage_returned(self, s: Story, when: StoryTime) -> None:
        self._route(s, when)
        if self.rng.random() < 0.5:
            self._sign(s, when, s.lead)
        self._return_lead(s, when)

    def _story_assigned(self, s: Story, when: StoryTime) -> None:
        self._route(s, when)
        for co in s.cos:
            if self.rng.random() < 0.3:
                self._sign(s, when, co)

    def _story_in_progress(self, s: Story, when: StoryTime) -> None:
        self._route(s, when)
        self._sign(s, when, s.lead)
        for co in s.cos:
            if self.rng.random() < 0.5:
                self._sign(s, when, co)

    def _story_in_progress_opinions(self, s: Story, when: StoryTime) -> None:
        self._work(s, when, want_co=True)

    def _story_in_progress_rehandle(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply_published(s, when, say_no=self.rng.random() < 0.3)
        self._rate(s, when, Rating.Score.UNSATISFIED, rehandle=True)

    def _story_in_progress_sent_back(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply(s, when, self._say_no_outcome())
        if self.rng.random() < 0.5:
            self._review(s, when, office=False, approve=False)
        else:
            self._review(s, when, office=False, approve=True)
            self._review(s, when, office=True, approve=False)

    def _story_pending_head(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply(s, when, self._say_no_outcome())

    def _story_pending_office(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply(s, when, self._say_no_outcome())
        self._review(s, when, office=False, approve=True)

    def _story_replied(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply_published(s, when, say_no=False)

    def _story_replied_reviewed(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply_published(s, when, say_no=True)

    def _story_closed_rated(self, s: Story, when: StoryTime) -> None:
        rerouted = self.rng.random() < 0.15
        if rerouted:
            self._return_and_reroute(s, when)
        self._work(s, when, routed=rerouted)
        self._reply_published(s, when, say_no=False)
        score = self.rng.choices(
            [Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED], weights=[7, 3]
        )[0]
        self._rate(s, when, score)
        self._maybe_followup(s, when, 0.35)

    def _story_closed_explained(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        if self.rng.random() < 0.25:
            self._reply(s, when, self._say_no_outcome())
            self._review(s, when, office=False, approve=False)
        self._reply_published(s, when, say_no=True)
        score = self.rng.choices(
            [
                Rating.Score.BASICALLY_SATISFIED,
                Rating.Score.SATISFIED,
                Rating.Score.UNSATISFIED,
            ],
            weights=[5, 3, 2],
        )[0]
        self._rate(s, when, score)
        self._maybe_followup(s, when, 0.3)

    def _story_closed_rehandled(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply_published(s, when, say_no=self.rng.random() < 0.4)
        self._rate(s, when, Rating.Score.UNSATISFIED, rehandle=True)
        when.after(48, 200)
        self._reply_published(s, when, say_no=False)
        self._rate(s, when, Rating.Score.SATISFIED)
        self._maybe_followup(s, when, 0.5)

    def _story_closed_by_staff(self, s: Story, when: StoryTime) -> None:
        self._work(s, when)
        self._reply_published(s, when, say_no=self.rng.random() < 0.2)
        actor = self._commissioner_of(s) if self.rng.random() < 0.7 else self.city.office
        self._call(
            when.after(72, 170),
            services.appeal_close,
            actor=actor,
            appeal_id=s.appeal_id,
            note=self.rng.choice(STAFF_CLOSE_NOTES),
        )
        self._maybe_followup(s, when, 0.3)

    def _story_not_accepted(self, s: Story, when: StoryTime) -> None:
        self._decline(s, when, Appeal.Status.NOT_ACCEPTED)

    def _story_redirected(self, s: Story, when: StoryTime) -> None:
        self._decline(s, when, Appeal.Status.REDIRECTED)

    def _story_merged(self, s: Story, when: StoryTime) -> None:
        target = required(s.merge_target)
        self._call(
            when.after(1, 24),
            services.appeal_merge,
            actor=self._commissioner_of(s),
            appeal_id=s.appeal_id,
            into_number=target.number,
            explanation=f"您反映的问题与登记号 {target.number} 的诉求为同一事项，已并案办理，"
            "办理结果将一并反馈，请通过原登记号查询进展。",
        )

    # Steps.

    def _commissioner_of(self, s: Story):
        return s.commissioner or self.city.commissioners[s.index % len(self.city.commissioners)]

    def _triage_actor(self, s: Story):
        return self.city.office if self.rng.random() < 0.1 else self._commissioner_of(s)

    def _route(self, s: Story, when: StoryTime, *, lead=None, co=None, want_co=False, note=""):
        if lead is None:
            suggestion = routing_suggest(category=s.category, region=s.region)
            lead = suggestion.lead
            co = list(suggestion.co_handlers)
            if lead is None:  # 其他: no default, the commissioner decides
                lead = (
                    self.city.departments[s.lead_hint]
                    if s.lead_hint
                    else self.city.county_gov_of(s.region)
                )
            local = self.city.county_gov_of(s.region)
            # Commissioners often ask the county government to help a municipal lead.
            if (
                lead.kind != Department.Kind.COUNTY_GOV
                and local not in co
                and ((want_co and not co) or self.rng.random() < 0.15)
            ):
                co.append(local)
            if want_co and not co:
                co.append(self.city.departments["fgw" if lead.code != "fgw" else "sfj"])
        self._call(
            when.after(1, 30),
            services.appeal_route,
            actor=self._triage_actor(s),
            appeal_id=s.appeal_id,
            lead=lead,
            co_handlers=co or [],
            category=s.category,
            note=note,
        )
        active = Assignment.objects.filter(
            appeal_id=s.appeal_id, state=Assignment.State.ASSIGNED
        ).order_by("pk")
        s.lead = next(a for a in active if a.role == Assignment.Role.LEAD)
        s.cos = [a for a in active if a.role == Assignment.Role.CO]

    def _sign(self, s: Story, when: StoryTime, assignment: Assignment) -> None:
        self._call(
            when.after(1, 40),
            services.assignment_sign,
            actor=self.city.handler[assignment.department_id],
            assignment_id=assignment.pk,
        )

    def _work(self, s: Story, when: StoryTime, *, want_co: bool = False, routed: bool = False):
        """Routed, signed by everyone, co-handlers' opinions sent: ready for the lead's reply."""
        if not routed:
            self._route(s, when, want_co=want_co)
        self._sign(s, when, s.lead)
        for co in s.cos:
            self._sign(s, when, co)
            if want_co or self.rng.random() < 0.85:
                self._call(
                    when.after(20, 120),
                    services.opinion_submit,
                    actor=self.city.handler[co.department_id],
                    assignment_id=co.pk,
                    content=self.rng.choice(OPINIONS).format(dept=co.department.name),
                )

    def _return_lead(self, s: Story, when: StoryTime) -> None:
        department = s.lead.department
        local = self.city.county_gov_of(s.region)
        if department == local:
            reason = "该事项涉及市级审批权限，超出县级职责范围，建议改由市直主管部门牵头办理。"
        else:
            reason = (
                f"经核实，企业位于{local.region.name}，该事项属于属地管理事项，"
                f"建议改由{local.name}牵头办理。"
            )
        self._call(
            when.after(2, 48),
            services.assignment_return,
            actor=self.city.handler[department.pk],
            assignment_id=s.lead.pk,
            reason=reason,
        )

    def _return_and_reroute(self, s: Story, when: StoryTime) -> None:
        self._route(s, when)
        first = s.lead.department
        self._return_lead(s, when)
        local = self.city.county_gov_of(s.region)
        if first != local:
            lead, co = local, [first]
        else:
            lead = self._default_lead(s.category) or self.city.departments["fgw"]
            co = [first] if lead != first else []
        self._route(s, when, lead=lead, co=co, note="根据承办单位退回意见重新分办。")

    def _default_lead(self, category: Category | None) -> Department | None:
        while category is not None:
            if category.lead_department_id:
                return category.lead_department
            category = category.parent
        return None

    def _say_no_outcome(self) -> str:
        return self.rng.choices(
            [Reply.Outcome.PARTLY_RESOLVED, Reply.Outcome.EXPLAINED, Reply.Outcome.REDIRECTED],
            weights=[4, 4, 2],
        )[0]

    def _reply(self, s: Story, when: StoryTime, outcome: str) -> None:
        category = required(s.category)
        top = category.parent or category
        content = REPLY_TEXTS[top.code][outcome].format(dept=s.lead.department.name)
        s.reply = self._call(
            when.after(20, 200),
            services.reply_submit,
            actor=self.city.handler[s.lead.department_id],
            assignment_id=s.lead.pk,
            outcome=outcome,
            content=content,
        )

    def _review(self, s: Story, when: StoryTime, *, office: bool, approve: bool) -> None:
        if office:
            actor = self.city.office
            note = "同意答复企业。" if approve else self.rng.choice(OFFICE_SEND_BACK)
        else:
            actor = self.city.head[s.lead.department_id]
            note = "同意，报营商办审核。" if approve else self.rng.choice(HEAD_SEND_BACK)
        self._call(
            when.after(2, 48) if not office else when.after(4, 72),
            services.reply_review,
            actor=actor,
            reply_id=s.reply.pk,
            approve=approve,
            note=note,
        )

    def _reply_published(self, s: Story, when: StoryTime, *, say_no: bool) -> None:
        """A reply the enterprise sees: at once if resolved, after both reviews otherwise."""
        if not say_no:
            self._reply(s, when, Reply.Outcome.RESOLVED)
            return
        self._reply(s, when, self._say_no_outcome())
        self._review(s, when, office=False, approve=True)
        self._review(s, when, office=True, approve=True)

    def _rate(self, s: Story, when: StoryTime, score: str, *, rehandle: bool = False) -> None:
        if rehandle:
            comment = self.rng.choice(REHANDLE_COMMENTS)
        else:
            comments: dict[str, list[str]] = {
                Rating.Score.SATISFIED: SATISFIED_COMMENTS,
                Rating.Score.BASICALLY_SATISFIED: BASIC_COMMENTS,
                Rating.Score.UNSATISFIED: UNSATISFIED_COMMENTS,
            }
            comment = self.rng.choice(comments[score])
        # The enterprise's own login, or whoever holds the query code (no login) otherwise.
        rater = s.filer if s.filer in self.city.enterprise_users else None
        self._call(
            when.after(2, 120, staff=False),
            services.appeal_rate,
            actor=rater,
            appeal_id=s.appeal_id,
            score=score,
            comment=comment,
            rehandle=rehandle,
        )

    def _maybe_followup(self, s: Story, when: StoryTime, chance: float) -> None:
        if self.rng.random() >= chance:
            return
        self._call(
            when.after(72, 400),
            services.followup_record,
            actor=self._commissioner_of(s),
            appeal_id=s.appeal_id,
            content=self.rng.choice(FOLLOWUPS),
        )

    def _decline(self, s: Story, when: StoryTime, status: str) -> None:
        self._call(
            when.after(2, 48),
            services.appeal_decline,
            actor=self._commissioner_of(s),
            appeal_id=s.appeal_id,
            status=status,
            explanation=s.explanation,
        )
