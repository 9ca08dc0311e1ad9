"""etcdserverpb.Auth: every request goes through raft (etcd's choice: reads of users and
roles are linearizable and checked for root at apply); passwords are hashed, and checked,
off the event loop before anything is proposed, so the log never holds one."""

from __future__ import annotations

import asyncio
from typing import Any

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import (
    InternalAuthenticateRequest,
    InternalRaftRequest,
)
from kvcore.auth import passwords, tokens
from kvcore.server.etcdserver import EtcdServer
from kvcore.transport import CallContext


class AuthService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def _propose(self, **request: Any) -> Any:
        return await self._server.propose(InternalRaftRequest(**request))

    async def authenticate(
        self, request: pb.AuthenticateRequest, ctx: CallContext
    ) -> pb.AuthenticateResponse:
        server = self._server
        await server.linearizable_read()
        while True:
            stored, checked_at = server.auth.password_hash(request.name)
            if not await asyncio.to_thread(passwords.check_password, stored, request.password):
                raise errors.AUTH_FAILED
            internal = InternalAuthenticateRequest(
                name=request.name, simple_token=tokens.new_prefix()
            )
            response = await self._propose(authenticate=internal)
            # The user may have changed between the check and the apply: check again.
            if checked_at == server.auth.revision:
                return response

    async def auth_enable(
        self, request: pb.AuthEnableRequest, ctx: CallContext
    ) -> pb.AuthEnableResponse:
        return await self._propose(auth_enable=request)

    async def auth_disable(
        self, request: pb.AuthDisableRequest, ctx: CallContext
    ) -> pb.AuthDisableResponse:
        return await self._propose(auth_disable=request)

    async def auth_status(
        self, request: pb.AuthStatusRequest, ctx: CallContext
    ) -> pb.AuthStatusResponse:
        return await self._propose(auth_status=request)

    async def user_add(
        self, request: pb.AuthUserAddRequest, ctx: CallContext
    ) -> pb.AuthUserAddResponse:
        internal = pb.AuthUserAddRequest(name=request.name, options=request.options)
        if not request.options.no_password:
            internal.hashedPassword = await _hash(request.password)
        return await self._propose(auth_user_add=internal)

    async def user_get(
        self, request: pb.AuthUserGetRequest, ctx: CallContext
    ) -> pb.AuthUserGetResponse:
        return await self._propose(auth_user_get=request)

    async def user_list(
        self, request: pb.AuthUserListRequest, ctx: CallContext
    ) -> pb.AuthUserListResponse:
        return await self._propose(auth_user_list=request)

    async def user_delete(
        self, request: pb.AuthUserDeleteRequest, ctx: CallContext
    ) -> pb.AuthUserDeleteResponse:
        return await self._propose(auth_user_delete=request)

    async def user_change_password(
        self, request: pb.AuthUserChangePasswordRequest, ctx: CallContext
    ) -> pb.AuthUserChangePasswordResponse:
        internal = pb.AuthUserChangePasswordRequest(name=request.name)
        if request.password:
            internal.hashedPassword = await _hash(request.password)
        return await self._propose(auth_user_change_password=internal)

    async def user_grant_role(
        self, request: pb.AuthUserGrantRoleRequest, ctx: CallContext
    ) -> pb.AuthUserGrantRoleResponse:
        return await self._propose(auth_user_grant_role=request)

    async def user_revoke_role(
        self, request: pb.AuthUserRevokeRoleRequest, ctx: CallContext
    ) -> pb.AuthUserRevokeRoleResponse:
        return await self._propose(auth_user_revoke_role=request)

    async def role_add(
        self, request: pb.AuthRoleAddRequest, ctx: CallContext
    ) -> pb.AuthRoleAddResponse:
        return await self._propose(auth_role_add=request)

    async def role_get(
        self, request: pb.AuthRoleGetRequest, ctx: CallContext
    ) -> pb.AuthRoleGetResponse:
        return await self._propose(auth_role_get=request)

    async def role_list(
        self, request: pb.AuthRoleListRequest, ctx: CallContext
    ) -> pb.AuthRoleListResponse:
        return await self._propose(auth_role_list=request)

    async def role_delete(
        self, request: pb.AuthRoleDeleteRequest, ctx: CallContext
    ) -> pb.AuthRoleDeleteResponse:
        return await self._propose(auth_role_delete=request)

    async def role_grant_permission(
        self, request: pb.AuthRoleGrantPermissionRequest, ctx: CallContext
    ) -> pb.AuthRoleGrantPermissionResponse:
        return await self._propose(auth_role_grant_permission=request)

    async def role_revoke_permission(
        self, request: pb.AuthRoleRevokePermissionRequest, ctx: CallContext
    ) -> pb.AuthRoleRevokePermissionResponse:
        return await self._propose(auth_role_revoke_permission=request)


async def _hash(password: str) -> str:
    return await asyncio.to_thread(passwords.hash_password, password)
