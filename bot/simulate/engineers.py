"""The simulated engineers: who holds which ticket, what each does next, and when.

An engineer learns of a ticket the way a person does — the desk pings them (assigned,
escalated, reminded) — and acts only on tickets the desk gave them, only on duty, and on at
most `capacity` tickets at a time (the rest wait in their own backlog, most urgent first).
Each action is returned to the engine as a planned `Step`; the engine carries it out through
the desk's public entry points when the clock gets there, after checking the ticket is
still theirs.

The draws for one ticket in one engineer's hands come from their own `random.Random`, seeded
by the run's seed, the ticket's arrival and how many engineers held it before, so a
what-if that changes who gets a ticket changes nothing else about it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.domain import Priority
from bot.simulate.duty import Duty
from bot.simulate.handling import HandlingTimes


class Act(StrEnum):
    ANSWER = "answer"  # the first answer to the customer, in the ticket's staff thread
    RESOLVE = "resolve"  # the `resolve` command
    UPDATE = "update"  # a progress message to the customer, after a reminder


@dataclass(frozen=True, order=True)
class Step:
    at: datetime
    seq: int
    engineer: str
    ticket_id: int
    act: Act


@dataclass
class Job:
    ticket_id: int
    priority: Priority
    given_at: datetime
    rng: random.Random
    answered: bool
    planned: set[int] = field(default_factory=set)  # its steps still to come (older plans are void)


@dataclass
class Load:
    """What one engineer did in the run."""

    given: int = 0
    answered: int = 0
    resolved: int = 0
    updates: int = 0
    peak: int = 0  # most tickets worked on at once


@dataclass
class Person:
    id: str
    capacity: int | None
    active: dict[int, Job] = field(default_factory=dict)
    backlog: list[Job] = field(default_factory=list)
    load: Load = field(default_factory=Load)

    def has_room(self) -> bool:
        return self.capacity is None or len(self.active) < self.capacity


class Team:
    def __init__(self, people: dict[str, Person], duty: Duty, times: HandlingTimes, seed: int) -> None:
        self.people = people
        self._duty = duty
        self._times = times
        self._seed = seed
        self._holder: dict[int, str] = {}
        self._holders_so_far: dict[int, int] = {}
        self._seq = 0

    def given(self, engineer: str, ticket_id: int, arrival: int, priority: Priority, answered: bool,
              now: datetime) -> list[Step]:
        """The desk gave `engineer` the ticket (assigned, escalated or reassigned to them)."""
        person = self.people.get(engineer)
        if person is None or self._holder.get(ticket_id) == engineer:
            return []
        steps = self.drop(ticket_id, now)
        turn = self._holders_so_far.get(ticket_id, 0)
        self._holders_so_far[ticket_id] = turn + 1
        self._holder[ticket_id] = engineer
        rng = random.Random(f"{self._seed}:{arrival}:{turn}")
        person.backlog.append(Job(ticket_id, priority, now, rng, answered))
        person.load.given += 1
        return steps + self._start_next(person, now)

    def drop(self, ticket_id: int, now: datetime) -> list[Step]:
        """The ticket is no longer its holder's (taken from them, resolved or closed)."""
        engineer = self._holder.pop(ticket_id, None)
        person = self.people.get(engineer) if engineer else None
        if person is None:
            return []
        person.backlog = [job for job in person.backlog if job.ticket_id != ticket_id]
        if person.active.pop(ticket_id, None) is None:
            return []
        return self._start_next(person, now)

    def job(self, step: Step) -> Job | None:
        """The job `step` was planned for, if that plan still stands (the ticket is still
        theirs, and was not taken away and given back since)."""
        person = self.people.get(step.engineer)
        job = person.active.get(step.ticket_id) if person else None
        if job is None or step.seq not in job.planned:
            return None
        job.planned.discard(step.seq)
        return job

    def answered(self, engineer: str, job: Job, now: datetime, *, by_them: bool) -> list[Step]:
        """The customer has their first answer (from this engineer, or before they came):
        the engineer works on to the resolution."""
        job.answered = True
        if by_them:
            self.people[engineer].load.answered += 1
        return self._plan(engineer, job, Act.RESOLVE, now, self._times.resolve.draw(job.rng))

    def resolved(self, engineer: str, ticket_id: int, now: datetime) -> list[Step]:
        self.people[engineer].load.resolved += 1
        return self.drop(ticket_id, now)

    def reminded(self, engineer: str, ticket_id: int, now: datetime) -> list[Step]:
        """A reminder about a ticket they are working on: they write the customer an update."""
        person = self.people.get(engineer)
        job = person.active.get(ticket_id) if person else None
        if job is None or not job.answered:
            return []
        return self._plan(engineer, job, Act.UPDATE, now, self._times.react.draw(job.rng))

    def updated(self, engineer: str) -> None:
        self.people[engineer].load.updates += 1

    def _start_next(self, person: Person, now: datetime) -> list[Step]:
        steps: list[Step] = []
        while person.backlog and person.has_room():
            job = min(person.backlog, key=lambda j: (j.priority, j.given_at, j.ticket_id))
            person.backlog.remove(job)
            person.active[job.ticket_id] = job
            person.load.peak = max(person.load.peak, len(person.active))
            take = self._times.take.draw(job.rng)
            if job.answered:
                seconds = take + self._times.resolve.draw(job.rng)
                steps += self._plan(person.id, job, Act.RESOLVE, max(now, job.given_at), seconds)
            else:
                seconds = take + self._times.answer.draw(job.rng)
                steps += self._plan(person.id, job, Act.ANSWER, max(now, job.given_at), seconds)
        return steps

    def _plan(self, engineer: str, job: Job, act: Act, since: datetime, seconds: float) -> list[Step]:
        at = self._duty.after(engineer, since, seconds)
        if at is None:
            return []  # their duty runs out within the run: the ticket stays theirs, untouched
        self._seq += 1
        job.planned.add(self._seq)
        return [Step(at, self._seq, engineer, job.ticket_id, act)]
