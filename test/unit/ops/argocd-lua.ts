/**
 * Runs an Argo CD resource health script (Lua) the way Argo CD does: the resource is a global
 * table `obj` (JSON numbers become Lua numbers, null becomes nil) and the script returns a
 * table {status, message}. Uses fengari, a Lua VM in JavaScript (a devDependency).
 */
import { createRequire } from 'node:module';

interface LuaState {
  readonly __brand: 'lua_State';
}
interface Fengari {
  lua: {
    LUA_OK: number;
    lua_newtable(L: LuaState): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_pushstring(L: LuaState, s: Uint8Array): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushnil(L: LuaState): void;
    lua_setfield(L: LuaState, idx: number, k: Uint8Array): void;
    lua_rawseti(L: LuaState, idx: number, i: number): void;
    lua_setglobal(L: LuaState, name: Uint8Array): void;
    lua_getfield(L: LuaState, idx: number, k: Uint8Array): number;
    lua_tojsstring(L: LuaState, idx: number): string | null;
    lua_pcall(L: LuaState, nargs: number, nresults: number, errfunc: number): number;
    lua_istable(L: LuaState, idx: number): boolean;
    lua_isnil(L: LuaState, idx: number): boolean;
    lua_pop(L: LuaState, n: number): void;
    lua_close(L: LuaState): void;
  };
  lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadstring(L: LuaState, s: Uint8Array): number;
  };
  lualib: { luaL_openlibs(L: LuaState): void };
  to_luastring(s: string): Uint8Array;
}

const fengari = createRequire(import.meta.url)('fengari') as Fengari;
const { lua, lauxlib, lualib, to_luastring } = fengari;

export interface HealthStatus {
  status: string;
  message: string | null;
}

function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (typeof value === 'number') lua.lua_pushnumber(L, value);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, i) => {
      push(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof value === 'object') {
    lua.lua_newtable(L);
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      push(L, v);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else throw new Error(`cannot pass a ${typeof value} to Lua`);
}

/** Evaluates `script` with `obj` bound as Argo CD does; throws with the Lua error on failure. */
export function runHealthScript(script: string, obj: unknown): HealthStatus {
  const L = lauxlib.luaL_newstate();
  try {
    lualib.luaL_openlibs(L);
    push(L, obj);
    lua.lua_setglobal(L, to_luastring('obj'));
    if (lauxlib.luaL_loadstring(L, to_luastring(script)) !== lua.LUA_OK) {
      throw new Error(`Lua syntax error: ${lua.lua_tojsstring(L, -1)}`);
    }
    if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
      throw new Error(`Lua runtime error: ${lua.lua_tojsstring(L, -1)}`);
    }
    if (!lua.lua_istable(L, -1)) throw new Error('the health script did not return a table');
    lua.lua_getfield(L, -1, to_luastring('status'));
    const status = lua.lua_tojsstring(L, -1);
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, -1, to_luastring('message'));
    const message = lua.lua_isnil(L, -1) ? null : lua.lua_tojsstring(L, -1);
    lua.lua_pop(L, 1);
    if (!status) throw new Error('the health script returned no status');
    return { status, message };
  } finally {
    lua.lua_close(L);
  }
}
