"""HTTP routes of ``/api/users`` (contract 3.5, seed "Users Module")."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.schemas import MessageSchema, PageArgs
from fluxolab.common.security import auth_required, current_actor
from fluxolab.users import preferences, service
from fluxolab.users.schemas import (
    InvitationAcceptedOut,
    InvitationAcceptIn,
    MemberAddedOut,
    MemberIn,
    MemberOut,
    MemberRoleIn,
    MembersOut,
    PreferencesIn,
    PreferencesOut,
    ProfileIn,
    ProfileOut,
    TrialInfoOut,
)

blp = Blueprint(
    "users", __name__, url_prefix="/api/users", description="Profile, members, preferences"
)


@blp.route("/profile")
class Profile(MethodView):
    @auth_required()
    @blp.response(200, ProfileOut)
    def get(self) -> dict[str, Any]:
        """Return the caller's profile and preferences

        Any member (viewer and up).
        """
        return {"status": "ok", "profile": service.get_profile(current_actor().user_id)}

    @auth_required()
    @error_responses(403, 409)
    @blp.arguments(ProfileIn)
    @blp.response(200, ProfileOut)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Update the caller's own profile

        Any member, own profile only. Changing `email` needs `currentPassword`: missing is a
        422, wrong is a 403 (`invalid_password`); an e-mail in use is a 409.
        """
        profile = service.update_profile(current_actor().user_id, body)
        return {"status": "ok", "profile": profile}


@blp.route("/trial-info")
class TrialInfo(MethodView):
    @auth_required()
    @blp.response(200, TrialInfoOut)
    def get(self) -> dict[str, Any]:
        """Return the workspace's trial, plan and execution quota

        Any member. `executionsLimit` null means unlimited.
        """
        return {"status": "ok", "trialInfo": service.trial_info(current_actor().workspace_id)}


@blp.route("/workspace-members")
class Members(MethodView):
    @auth_required()
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, MembersOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List the workspace's members (paginated) and its pending invitations

        Any member. Members are ordered by join time.
        """
        page, invitations = service.list_members(
            current_actor().workspace_id, args["limit"], args["offset"]
        )
        return {**page.body("members", page.items), "invitations": invitations}

    @auth_required("admin")
    @error_responses(402, 409)
    @blp.arguments(MemberIn)
    @blp.response(201, MemberAddedOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Invite an e-mail to the workspace with a role

        Admin or owner; only an owner grants `owner` or re-invites an e-mail whose pending
        invitation is for `owner` (403); 409 when the e-mail is already a member. The same
        answer whether or not the e-mail has an account: the invitation e-mail carries a
        token, used at registration (`inviteToken`) or with
        `POST /api/users/invitations/accept`.
        """
        invitation = service.add_member(current_actor(), body["email"], body["role"])
        return {"status": "invited", "invitation": invitation}


@blp.route("/workspace-members/<uuid:user_id>")
class Member(MethodView):
    @auth_required("admin")
    @error_responses(409)
    @blp.arguments(MemberRoleIn)
    @blp.response(200, MemberOut)
    def put(self, body: dict[str, Any], user_id: uuid.UUID) -> dict[str, Any]:
        """Change a member's role

        Admin or owner; only an owner changes an owner or grants `owner` (403). Demoting the
        last owner is a 409; a user outside this workspace is a 404.
        """
        member = service.change_role(current_actor(), user_id, body["role"])
        return {"status": "ok", "member": member}

    @auth_required("admin")
    @error_responses(409)
    @blp.response(200, MessageSchema)
    def delete(self, user_id: uuid.UUID) -> dict[str, Any]:
        """Remove a member from the workspace (their tokens for it stop working)

        Admin or owner; an admin cannot remove an owner (403) and the last owner stays (409).
        """
        service.remove_member(current_actor(), user_id)
        return {"status": "ok", "message": "Membro removido do workspace."}


@blp.route("/invitations/accept")
class AcceptInvitation(MethodView):
    @auth_required()
    @error_responses(402, 404, 409)
    @blp.arguments(InvitationAcceptIn)
    @blp.response(200, InvitationAcceptedOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Accept a workspace invitation with the token from its e-mail

        Any logged-in user whose e-mail the invitation was sent to; 404 for an unknown,
        expired, used or someone else's token. Act in the joined workspace with the
        `X-Workspace-Id` header.
        """
        accepted = service.accept_invitation(current_actor().user_id, body["token"])
        return {"status": "ok", **accepted}


@blp.route("/workspace-members/invitations/<uuid:invitation_id>")
class Invitation(MethodView):
    @auth_required("admin")
    @blp.response(200, MessageSchema)
    def delete(self, invitation_id: uuid.UUID) -> dict[str, Any]:
        """Revoke a pending invitation

        Admin or owner; only an owner revokes an invitation for `owner` (403).
        """
        service.revoke_invitation(current_actor(), invitation_id)
        return {"status": "ok", "message": "Convite revogado."}


@blp.route("/preferences")
class Preferences(MethodView):
    @auth_required()
    @blp.response(200, PreferencesOut)
    def get(self) -> dict[str, Any]:
        """Return the caller's preferences (defaults merged with their choices)

        Any member.
        """
        return {"status": "ok", "preferences": preferences.get_preferences(current_actor().user_id)}

    @auth_required()
    @blp.arguments(PreferencesIn)
    @blp.response(200, PreferencesOut)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change some preferences and return them all

        Any member. Top-level keys replace the stored ones; `notifications` and `dashboard`
        may be partial and are merged key by key. Unknown keys are a 422.
        """
        result = preferences.update_preferences(current_actor().user_id, body)
        return {"status": "ok", "preferences": result}
