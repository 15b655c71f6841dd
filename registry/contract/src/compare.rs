//! Structural comparison of an exported interface with the contract's.

use wit_parser::{Function, InterfaceId, Resolve, Type, TypeDefKind, TypeId};

/// Checks that every function of the contract's interface `ours` exists in
/// the component's interface `theirs` with the same parameters (names and
/// types) and result.
pub(crate) fn interface(
    ours_resolve: &Resolve,
    ours: InterfaceId,
    theirs_resolve: &Resolve,
    theirs: InterfaceId,
) -> Result<(), String> {
    let pair = Pair {
        ours: ours_resolve,
        theirs: theirs_resolve,
    };
    let theirs = &theirs_resolve.interfaces[theirs];
    for (name, expected) in &ours_resolve.interfaces[ours].functions {
        let Some(actual) = theirs.functions.get(name) else {
            return Err(format!("function {name} is missing"));
        };
        pair.function(expected, actual)
            .map_err(|e| format!("function {name}: {e}"))?;
    }
    Ok(())
}

struct Pair<'a> {
    ours: &'a Resolve,
    theirs: &'a Resolve,
}

impl Pair<'_> {
    fn function(&self, ours: &Function, theirs: &Function) -> Result<(), String> {
        if ours.params.len() != theirs.params.len() {
            return Err(format!(
                "takes {} parameters, the contract says {}",
                theirs.params.len(),
                ours.params.len()
            ));
        }
        for (o, t) in ours.params.iter().zip(&theirs.params) {
            if o.name != t.name {
                return Err(format!("parameter '{}' should be '{}'", t.name, o.name));
            }
            self.ty(&o.ty, &t.ty)
                .map_err(|e| format!("parameter {}: {e}", o.name))?;
        }
        match (&ours.result, &theirs.result) {
            (None, None) => Ok(()),
            (Some(o), Some(t)) => self.ty(o, t).map_err(|e| format!("result: {e}")),
            (Some(_), None) => Err("returns nothing, the contract returns a value".into()),
            (None, Some(_)) => Err("returns a value, the contract returns nothing".into()),
        }
    }

    fn ty(&self, ours: &Type, theirs: &Type) -> Result<(), String> {
        match (self.unalias_ours(*ours), self.unalias_theirs(*theirs)) {
            (Type::Id(o), Type::Id(t)) => self.def(o, t),
            (o, t) if o == t => Ok(()),
            (o, t) => Err(format!(
                "is {}, the contract says {}",
                describe(self.theirs, t),
                describe(self.ours, o)
            )),
        }
    }

    fn option(&self, ours: &Option<Type>, theirs: &Option<Type>) -> Result<(), String> {
        match (ours, theirs) {
            (None, None) => Ok(()),
            (Some(o), Some(t)) => self.ty(o, t),
            _ => Err("a payload is present on one side only".into()),
        }
    }

    fn def(&self, ours: TypeId, theirs: TypeId) -> Result<(), String> {
        let (o, t) = (&self.ours.types[ours], &self.theirs.types[theirs]);
        let name = o.name.as_deref().unwrap_or(o.kind.as_str());
        let within = |e: String| format!("in {name}: {e}");
        match (&o.kind, &t.kind) {
            (TypeDefKind::Record(o), TypeDefKind::Record(t)) => {
                same_names(
                    o.fields.iter().map(|f| &f.name),
                    t.fields.iter().map(|f| &f.name),
                    "fields",
                )
                .map_err(within)?;
                for (of, tf) in o.fields.iter().zip(&t.fields) {
                    self.ty(&of.ty, &tf.ty)
                        .map_err(|e| within(format!("field {}: {e}", of.name)))?;
                }
                Ok(())
            }
            (TypeDefKind::Variant(o), TypeDefKind::Variant(t)) => {
                same_names(
                    o.cases.iter().map(|c| &c.name),
                    t.cases.iter().map(|c| &c.name),
                    "cases",
                )
                .map_err(within)?;
                for (oc, tc) in o.cases.iter().zip(&t.cases) {
                    self.option(&oc.ty, &tc.ty)
                        .map_err(|e| within(format!("case {}: {e}", oc.name)))?;
                }
                Ok(())
            }
            (TypeDefKind::Enum(o), TypeDefKind::Enum(t)) => same_names(
                o.cases.iter().map(|c| &c.name),
                t.cases.iter().map(|c| &c.name),
                "cases",
            )
            .map_err(within),
            (TypeDefKind::Flags(o), TypeDefKind::Flags(t)) => same_names(
                o.flags.iter().map(|f| &f.name),
                t.flags.iter().map(|f| &f.name),
                "flags",
            )
            .map_err(within),
            (TypeDefKind::Tuple(o), TypeDefKind::Tuple(t)) => {
                if o.types.len() != t.types.len() {
                    return Err(within(format!(
                        "a tuple of {} items, the contract has {}",
                        t.types.len(),
                        o.types.len()
                    )));
                }
                o.types
                    .iter()
                    .zip(&t.types)
                    .try_for_each(|(o, t)| self.ty(o, t))
                    .map_err(within)
            }
            (TypeDefKind::Option(o), TypeDefKind::Option(t))
            | (TypeDefKind::List(o), TypeDefKind::List(t)) => self.ty(o, t).map_err(within),
            (TypeDefKind::Result(o), TypeDefKind::Result(t)) => {
                self.option(&o.ok, &t.ok)
                    .map_err(|e| within(format!("ok: {e}")))?;
                self.option(&o.err, &t.err)
                    .map_err(|e| within(format!("err: {e}")))
            }
            (TypeDefKind::Map(ok, ov), TypeDefKind::Map(tk, tv)) => self
                .ty(ok, tk)
                .and_then(|()| self.ty(ov, tv))
                .map_err(within),
            (TypeDefKind::FixedLengthList(o, on), TypeDefKind::FixedLengthList(t, tn))
                if on == tn =>
            {
                self.ty(o, t).map_err(within)
            }
            (TypeDefKind::Future(o), TypeDefKind::Future(t))
            | (TypeDefKind::Stream(o), TypeDefKind::Stream(t)) => self.option(o, t).map_err(within),
            (TypeDefKind::Resource, TypeDefKind::Resource) => {
                if o.name == t.name {
                    Ok(())
                } else {
                    Err(format!(
                        "resource {} should be {name}",
                        t.name.as_deref().unwrap_or("?")
                    ))
                }
            }
            (TypeDefKind::Handle(o), TypeDefKind::Handle(t)) => match (o, t) {
                (wit_parser::Handle::Own(o), wit_parser::Handle::Own(t))
                | (wit_parser::Handle::Borrow(o), wit_parser::Handle::Borrow(t)) => {
                    self.def(*o, *t)
                }
                _ => Err(within("own and borrow differ".into())),
            },
            (ok, tk) => Err(format!(
                "is a {}, the contract has a {} ({name})",
                tk.as_str(),
                ok.as_str()
            )),
        }
    }

    fn unalias_ours(&self, ty: Type) -> Type {
        unalias(self.ours, ty)
    }

    fn unalias_theirs(&self, ty: Type) -> Type {
        unalias(self.theirs, ty)
    }
}

/// Follows `type x = y` aliases (and `use`d types) to the definition.
fn unalias(resolve: &Resolve, mut ty: Type) -> Type {
    while let Type::Id(id) = ty {
        match resolve.types[id].kind {
            TypeDefKind::Type(inner) => ty = inner,
            _ => break,
        }
    }
    ty
}

fn describe(resolve: &Resolve, ty: Type) -> String {
    match ty {
        Type::Id(id) => resolve.types[id].kind.as_str().to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn same_names<'a>(
    ours: impl Iterator<Item = &'a String>,
    theirs: impl Iterator<Item = &'a String>,
    what: &str,
) -> Result<(), String> {
    let (ours, theirs): (Vec<_>, Vec<_>) = (ours.collect(), theirs.collect());
    if ours == theirs {
        Ok(())
    } else {
        Err(format!(
            "{what} are [{}], the contract has [{}]",
            theirs
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            ours.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}
