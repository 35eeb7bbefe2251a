/* memograd.memo._speedups: a memoized function's hit path in C, with no Python frame.
 *
 * The pure-Python wrapper (wrapper.py) is one frame plus one call of the C store plus one
 * attribute read; functools' cache is the C store alone. That frame is most of the distance
 * between the two, so this module provides the callable a memoized function or method becomes
 * when it is built: ``Memoized``, a vectorcall object that does the wrapper's hit in C and hands
 * everything else to the same Python code as before.
 *
 * What it does itself, for a call with exactly ``nargs`` positional arguments and no keywords:
 * call the store (the same ``lru_cache`` of cells, so keying, counting and LRU order are the
 * store's, unchanged), and return the cell's value if it holds one. Everything else is Python:
 *
 *   - keywords, defaults, another number of arguments: ``slow``, the generated wrapper itself;
 *   - a store call that cannot hash the arguments (TypeError): ``by_content(error, *args)``,
 *     the wrapper's content-key path, then as below;
 *   - an empty cell: ``miss(cell, *args)``, the wrapper's single-flight miss path (flight.py);
 *   - the store call failing at the recursion limit: ``miss(None, *args)``, which computes
 *     uncached, as the wrapper does there.
 *
 * A method's object (``globals`` given) finds its instance's cache as the method's wrapper does
 * (wrapper.py, ``_METHOD``): in ``_mg_recent`` among the wrapper's globals, the last-called
 * instance's (weak reference, store, cache). Any other instance, found in the registry or not
 * yet, goes to ``slow``, which files it there and makes it the last-called one. The instance is
 * not part of the key; the miss path and ``by_content`` belong to the instance's cache, so they
 * are ``miss(cell, memo, self, *args)`` and ``memo.by_content(error, *args)``.
 *
 * A vectorcall object adds no level to the recursion limit (CPython counts Python frames and
 * tp_call), so a miss costs two levels, this object's ``miss`` frame and the function, as
 * functools' wrapper and the function do.
 *
 * The object behaves as functools' wrappers do: it binds as a method (``__get__``; flagged as a
 * method descriptor, so ``obj.f(x)`` makes no bound method), carries a ``__dict__``
 * (``functools.update_wrapper``, ``cache_info``), can be weakly referenced, pickles by qualified
 * name, and ``copy``/``deepcopy`` return it unchanged.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <pthread.h>
#endif

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *store;      /* key -> Cell, a functools.lru_cache object (cache.py); a method's
                             cache is its instance's, found through globals */
    PyObject *miss;       /* miss(cell or None, [memo, ]*args) -> value */
    PyObject *slow;       /* the generated Python wrapper: any other call */
    PyObject *by_content; /* by_content(error, *args) -> Cell; a method's is its memo's */
    PyObject *globals;    /* a method's wrapper's globals, holding _mg_recent; else NULL */
    PyTypeObject *cell_type;
    Py_ssize_t value_offset; /* where a cell keeps its value slot */
    Py_ssize_t nargs;        /* the positional arguments of the fast path */
    PyObject *dict;
    PyObject *weakreflist;
} Memoized;

/* Each nested call through this object is a C frame and an interpreter loop on the C stack, as
 * with functools' wrapper (the pure-Python wrapper recurses without either). Under a recursion
 * limit raised far above the default, a deep enough recursion would overflow the C stack, which
 * on Python 3.11 kills the process; functools' cache does that. So where the thread's stack bounds
 * are known (glibc), a call with less than an eighth of the stack (at most 512 KiB) left raises
 * RecursionError instead. It is checked before the store is called, so it leaves no entry
 * behind; the check is a thread-local read and a comparison. */
#if defined(__GLIBC__)
typedef struct {
    uintptr_t floor; /* the lowest address a call may start at; 0 until looked up, or unknown */
    size_t size;
    int looked_up;
} Stack;

/* The initial-exec model makes each check one thread-pointer-relative load instead of a call of
 * __tls_get_addr (about 20 instructions, 2.5% of a hit). Should the few bytes of static TLS it
 * needs be missing, the import fails, and memoize runs its pure-Python wrapper (wrapper.py). */
static __thread Stack stack __attribute__((tls_model("initial-exec")));

static void
look_up_stack(void)
{
    pthread_attr_t attributes;
    void *low;
    size_t size;
    stack.looked_up = 1;
    if (pthread_getattr_np(pthread_self(), &attributes) != 0) {
        return;
    }
    if (pthread_attr_getstack(&attributes, &low, &size) == 0) {
        size_t margin = size / 8 < 512 * 1024 ? size / 8 : 512 * 1024;
        stack.floor = (uintptr_t)low + margin;
        stack.size = size;
    }
    pthread_attr_destroy(&attributes);
}

static int
stack_nearly_full(void)
{
    char here;
    if (!stack.looked_up) {
        look_up_stack();
    }
    if ((uintptr_t)&here >= stack.floor) {
        return 0;
    }
    PyErr_Format(PyExc_RecursionError,
                 "maximum recursion depth exceeded: a memoized function's C stack is nearly "
                 "full (%zu KiB); fill its cache bottom-up in steps so that no call nests as "
                 "deep, or recurse in a thread given a larger threading.stack_size()",
                 stack.size / 1024);
    return 1;
}
#else
static int
stack_nearly_full(void)
{
    return 0;
}
#endif

static PyObject *recent_name; /* "_mg_recent" */
static PyObject *by_content_name; /* "by_content" */

/* callable(*prefix, *args), the arguments on the C stack when they are few. */
static PyObject *
call_with_prefix(PyObject *callable, PyObject *const *prefix, Py_ssize_t nprefix,
                 PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *small[8];
    PyObject **stack = small;
    Py_ssize_t total = nprefix + nargs;
    if (total > (Py_ssize_t)(sizeof(small) / sizeof(small[0]))) {
        stack = PyMem_New(PyObject *, total);
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    for (Py_ssize_t i = 0; i < nprefix; i++) {
        stack[i] = prefix[i];
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        stack[nprefix + i] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(callable, stack, total, NULL);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

/* The store could not hash the key's arguments: the content-key path, given the exception. */
static PyObject *
cell_by_content(Memoized *self, PyObject *memo, PyObject *const *keyed, Py_ssize_t nkeyed)
{
    PyObject *type, *error, *traceback;
    PyErr_Fetch(&type, &error, &traceback);
    PyErr_NormalizeException(&type, &error, &traceback);
    if (traceback != NULL) {
        PyException_SetTraceback(error, traceback);
    }
    PyObject *cell;
    if (memo == NULL) {
        cell = call_with_prefix(self->by_content, &error, 1, keyed, nkeyed);
    }
    else {
        PyObject *by_content = PyObject_GetAttr(memo, by_content_name);
        cell = by_content == NULL ? NULL
                                  : call_with_prefix(by_content, &error, 1, keyed, nkeyed);
        Py_XDECREF(by_content);
    }
    Py_XDECREF(type);
    Py_XDECREF(error);
    Py_XDECREF(traceback);
    return cell;
}

/* The miss path: miss(cell or None, *args) for a function, miss(cell or None, memo, *args) for
 * a method. */
static PyObject *
call_miss(Memoized *self, PyObject *cell, PyObject *memo, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *prefix[2] = {cell, memo};
    return call_with_prefix(self->miss, prefix, memo == NULL ? 1 : 2, args, nargs);
}

/* The hit, or the Python code for anything else, once the cache is known: ``store`` and, for a
 * method, ``memo`` (NULL for a function), whose key leaves out args[0], the instance. */
static PyObject *
look_up(Memoized *self, PyObject *store, PyObject *memo, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t skip = memo == NULL ? 0 : 1;
    PyObject *cell = PyObject_Vectorcall(store, args + skip, nargs - skip, NULL);
    if (cell == NULL) {
        if (PyErr_ExceptionMatches(PyExc_RecursionError)) {
            PyErr_Clear();
            return call_miss(self, Py_None, memo, args, nargs);
        }
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return NULL; /* a user's __eq__ or __hash__ raised: it is theirs */
        }
        cell = cell_by_content(self, memo, args + skip, nargs - skip);
        if (cell == NULL) {
            return NULL;
        }
    }
    if (!Py_IS_TYPE(cell, self->cell_type)) {
        PyErr_Format(PyExc_SystemError, "memoize: the store returned %R, not a cell", cell);
        Py_DECREF(cell);
        return NULL;
    }
    PyObject *value = *(PyObject **)((char *)cell + self->value_offset);
    if (value != NULL) {
        Py_INCREF(value);
        Py_DECREF(cell);
        return value;
    }
    PyObject *result = call_miss(self, cell, memo, args, nargs);
    Py_DECREF(cell);
    return result;
}

/* A method's cache: the last-called instance's entry, if it is args[0]'s; else the wrapper. */
static PyObject *
look_up_method(Memoized *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *recent = PyDict_GetItemWithError(self->globals, recent_name); /* borrowed */
    if (recent == NULL && PyErr_Occurred()) {
        return NULL;
    }
    /* Trusted only as the wrapper trusts it: its weak reference gives back this very instance. */
    if (recent == NULL || !PyTuple_CheckExact(recent) || PyTuple_GET_SIZE(recent) != 3 ||
        !PyWeakref_CheckRefExact(PyTuple_GET_ITEM(recent, 0)) ||
        PyWeakref_GET_OBJECT(PyTuple_GET_ITEM(recent, 0)) != args[0]) {
        return PyObject_Vectorcall(self->slow, args, nargs, NULL);
    }
    Py_INCREF(recent); /* another thread may replace it while the store runs Python code */
    PyObject *result =
        look_up(self, PyTuple_GET_ITEM(recent, 1), PyTuple_GET_ITEM(recent, 2), args, nargs);
    Py_DECREF(recent);
    return result;
}

static PyObject *
memoized_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Memoized *self = (Memoized *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (stack_nearly_full()) {
        return NULL;
    }
    if (kwnames != NULL || nargs != self->nargs) {
        return PyObject_Vectorcall(self->slow, args, nargsf, kwnames);
    }
    if (self->globals != NULL) {
        return look_up_method(self, args, nargs);
    }
    return look_up(self, self->store, NULL, args, nargs);
}

static int
require_callable(PyObject *value, const char *name)
{
    if (!PyCallable_Check(value)) {
        PyErr_Format(PyExc_TypeError, "Memoized: %s must be callable, got %R", name, value);
        return -1;
    }
    return 0;
}

static PyObject *
memoized_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"store", "miss",  "slow",    "by_content",
                            "cell_type", "nargs", "globals", NULL};
    PyObject *store, *miss, *slow, *by_content, *globals = NULL;
    PyTypeObject *cell_type;
    Py_ssize_t nargs;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOO!n|$O!:Memoized", names, &store, &miss,
                                     &slow, &by_content, &PyType_Type, &cell_type, &nargs,
                                     &PyDict_Type, &globals)) {
        return NULL;
    }
    if (require_callable(miss, "miss") || require_callable(slow, "slow")) {
        return NULL;
    }
    if (globals == NULL &&
        (require_callable(store, "store") || require_callable(by_content, "by_content"))) {
        return NULL;
    }
    if (nargs < (globals == NULL ? 0 : 1)) {
        PyErr_Format(PyExc_ValueError, "Memoized: nargs must be >= %d, got %zd",
                     globals == NULL ? 0 : 1, nargs);
        return NULL;
    }
    /* The cell's value must be an object slot that reads as unset until written. */
    PyObject *descriptor = PyDict_GetItemString(cell_type->tp_dict, "value");
    if (descriptor == NULL || !Py_IS_TYPE(descriptor, &PyMemberDescr_Type) ||
        ((PyMemberDescrObject *)descriptor)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "Memoized: %R has no 'value' slot", cell_type);
        return NULL;
    }
    Memoized *self = PyObject_GC_New(Memoized, type);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = memoized_vectorcall;
    self->store = Py_NewRef(store);
    self->miss = Py_NewRef(miss);
    self->slow = Py_NewRef(slow);
    self->by_content = Py_NewRef(by_content);
    self->globals = Py_XNewRef(globals);
    self->cell_type = (PyTypeObject *)Py_NewRef(cell_type);
    self->value_offset = ((PyMemberDescrObject *)descriptor)->d_member->offset;
    self->nargs = nargs;
    self->dict = NULL;
    self->weakreflist = NULL;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
memoized_traverse(Memoized *self, visitproc visit, void *arg)
{
    Py_VISIT(self->store);
    Py_VISIT(self->miss);
    Py_VISIT(self->slow);
    Py_VISIT(self->by_content);
    Py_VISIT(self->globals);
    Py_VISIT(self->cell_type);
    Py_VISIT(self->dict);
    return 0;
}

static int
memoized_clear(Memoized *self)
{
    Py_CLEAR(self->store);
    Py_CLEAR(self->miss);
    Py_CLEAR(self->slow);
    Py_CLEAR(self->by_content);
    Py_CLEAR(self->globals);
    Py_CLEAR(self->cell_type);
    Py_CLEAR(self->dict);
    return 0;
}

static void
memoized_dealloc(Memoized *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    memoized_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Found on a class, it binds as a function does. */
static PyObject *
memoized_get(PyObject *self, PyObject *instance, PyObject *owner)
{
    if (instance == NULL || instance == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, instance);
}

static PyObject *
memoized_repr(Memoized *self)
{
    PyObject *name = PyObject_GetAttrString((PyObject *)self, "__qualname__");
    if (name == NULL) {
        PyErr_Clear();
        return PyUnicode_FromFormat("<memoized function at %p>", self);
    }
    PyObject *text = PyUnicode_FromFormat("<memoized function %S at %p>", name, self);
    Py_DECREF(name);
    return text;
}

/* Pickled by reference, as a function is: the module attribute of that qualified name. */
static PyObject *
memoized_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyObject_GetAttrString(self, "__qualname__");
}

static PyObject *
memoized_copy(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return Py_NewRef(self);
}

static PyObject *
memoized_deepcopy(PyObject *self, PyObject *Py_UNUSED(memo))
{
    return Py_NewRef(self);
}

static PyMethodDef memoized_methods[] = {
    {"__reduce__", memoized_reduce, METH_NOARGS, NULL},
    {"__copy__", memoized_copy, METH_NOARGS, NULL},
    {"__deepcopy__", memoized_deepcopy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef memoized_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef memoized_members[] = {
    {"__generated__", T_OBJECT, offsetof(Memoized, slow), READONLY,
     "The generated Python wrapper that handles every call the C path does not."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject MemoizedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memograd.memo._speedups.Memoized",
    .tp_doc = "A memoized function whose cache hit runs in C (see memograd.memo.wrapper).",
    .tp_basicsize = sizeof(Memoized),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_new = memoized_new,
    .tp_dealloc = (destructor)memoized_dealloc,
    .tp_traverse = (traverseproc)memoized_traverse,
    .tp_clear = (inquiry)memoized_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Memoized, vectorcall),
    .tp_descr_get = memoized_get,
    .tp_repr = (reprfunc)memoized_repr,
    .tp_methods = memoized_methods,
    .tp_members = memoized_members,
    .tp_getset = memoized_getset,
    .tp_dictoffset = offsetof(Memoized, dict),
    .tp_weaklistoffset = offsetof(Memoized, weakreflist),
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "memograd.memo._speedups",
    .m_doc = "The hit path of a memoized function, in C (optional: wrapper.py works without it).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&MemoizedType) < 0) {
        return NULL;
    }
    recent_name = PyUnicode_InternFromString("_mg_recent");
    by_content_name = PyUnicode_InternFromString("by_content");
    if (recent_name == NULL || by_content_name == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Memoized", (PyObject *)&MemoizedType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
