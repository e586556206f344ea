#!/usr/bin/env python3
"""Independent NumPy replay of the recorded optimizer cases, written from the update rules (not
from library code): a cross-check that the rules in the shared READMEs and in our folder READMEs
explain the recorded numbers. Prints the largest |param - recorded| per case (float64 cases, and
the float32 torch.optim.Muon case with bfloat16 emulation).

    /work/venv/bin/python scripts/reference/replay.py
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "test", "fixtures", "reference")
# torch.optim.Muon emulation: True rounds A·A and B·X to bfloat16 separately, which does NOT
# reproduce torch (its addmm rounds b·A + c·A·A and a·X + B·X once each).
SEP = False

# ------------------------------------------------------------------ next folder
D = os.path.join(FIX, 'next') + '/'
def load(n): return json.load(open(D+n+'.json'))
def per_tensor(m): return m if isinstance(m,list) else [m is not False]*4  # a mask: one bool per tensor, or one for all (null: all)
def arrs(c, lst): return [np.array(v,dtype=np.float64).reshape(s) for v,s in zip(lst,c['shapes'])]
def cmp(name, c, key, got, k, worst):
    ref=arrs(c,c['steps'][k][key])
    for a,b in zip(got,ref): worst[0]=max(worst[0], float(np.max(np.abs(a-b))))
def report(name,w): print(f'{name:45s} max abs dev {w[0]:.3g}')
norm=lambda x: float(np.sqrt(np.sum(x*x)))

def lamb(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); m=[np.zeros_like(x) for x in p]; v=[np.zeros_like(x) for x in p]; w=[0.0]
    mask=per_tensor(h['mask'])
    for k,st in enumerate(c['steps']):
        t=k+1; g=arrs(c,st['grads'])
        for i in range(4):
            m[i]=h['b1']*m[i]+(1-h['b1'])*g[i]; v[i]=h['b2']*v[i]+(1-h['b2'])*g[i]**2
            d=(m[i]/(1-h['b1']**t))/(np.sqrt(v[i]/(1-h['b2']**t)+h['eps_root'])+h['eps'])
            if mask[i]: d=d+h['weight_decay']*p[i]
            pn,un=norm(p[i]),norm(d); r=1.0 if pn==0 or un==0 else pn/un
            p[i]=p[i]-st['lr']*r*d
        cmp(n,c,'params',p,k,w)
    report(n,w)

def lars(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); buf=[np.zeros_like(x) for x in p]; w=[0.0]
    wdm,trm=per_tensor(h['weight_decay_mask']),per_tensor(h['trust_ratio_mask'])
    for k,st in enumerate(c['steps']):
        g=arrs(c,st['grads'])
        for i in range(4):
            u=g[i]+(h['weight_decay']*p[i] if wdm[i] else 0)
            if trm[i]:
                pn,un=norm(p[i]),norm(u); r=1.0 if pn==0 or un==0 else h['trust_coefficient']*pn/(un+h['eps'])
            else: r=1.0
            s=st['lr']*r*u; buf[i]=s+h['momentum']*buf[i]
            p[i]=p[i]-(s+h['momentum']*buf[i] if h['nesterov'] else buf[i])
        cmp(n,c,'params',p,k,w)
    tr=[np.array(e['3.trace']).reshape(s) for e,s in zip(c['final_state'],c['shapes'])]
    print('   trace sign check (stored = -buf):', max(float(np.max(np.abs(a+b))) for a,b in zip(tr,buf)))
    report(n,w)

def lion(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); m=[np.zeros_like(x) for x in p]; w=[0.0]
    for k,st in enumerate(c['steps']):
        g=arrs(c,st['grads'])
        for i in range(4):
            u=np.sign((1-h['b1'])*g[i]+h['b1']*m[i])
            if h['mask'][i]: u=u+h['weight_decay']*p[i]
            p[i]=p[i]-st['lr']*u; m[i]=h['b2']*m[i]+(1-h['b2'])*g[i]
        cmp(n,c,'params',p,k,w)
    report(n,w)

def adabelief(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); m=[np.zeros_like(x) for x in p]; s=[np.zeros_like(x) for x in p]; w=[0.0]
    b1,b2=h['b1'],h['b2']
    for k,st in enumerate(c['steps']):
        t=k+1; g=arrs(c,st['grads'])
        for i in range(4):
            m[i]=b1*m[i]+(1-b1)*g[i]; s[i]=b2*s[i]+(1-b2)*(g[i]-m[i])**2+h['eps_root']
            mh=b1*m[i]/(1-b1**(t+1))+(1-b1)*g[i]/(1-b1**t) if h['nesterov'] else m[i]/(1-b1**t)
            p[i]=p[i]-st['lr']*mh/(np.sqrt(s[i]/(1-b2**t))+h['eps'])
        cmp(n,c,'params',p,k,w)
    report(n,w)

def yogi(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); m=[np.full_like(x,1e-6) for x in p]; v=[np.full_like(x,1e-6) for x in p]; w=[0.0]
    b1,b2=h['b1'],h['b2']
    for k,st in enumerate(c['steps']):
        t=k+1; g=arrs(c,st['grads'])
        for i in range(4):
            m[i]=b1*m[i]+(1-b1)*g[i]; g2=g[i]**2; v[i]=v[i]-(1-b2)*np.sign(v[i]-g2)*g2
            p[i]=p[i]-st['lr']*(m[i]/(1-b1**t))/(np.sqrt(v[i]/(1-b2**t))+h['eps'])
        cmp(n,c,'params',p,k,w)
    report(n,w)

def sf(n, adam):
    c=load(n); h=c['hyperparameters']; y=arrs(c,c['initial_params']); z=[a.copy() for a in y]; x=[a.copy() for a in y]; v=[np.zeros_like(a) for a in y]
    W=0.0; maxlr=0.0; w=[0.0]; we=[0.0]; b1=h['b1']
    for k,st in enumerate(c['steps']):
        t=k+1; g=arrs(c,st['grads']); lr=st['lr']; lw=st.get('lr_weight',lr)
        maxlr=max(maxlr,lw); wt=maxlr**h['weight_lr_power']; W+=wt; ck=wt/W
        for i in range(4):
            if adam:
                v[i]=h['b2']*v[i]+(1-h['b2'])*g[i]**2
                d=g[i]/(np.sqrt(v[i]/(1-h['b2']**t))+h['eps'])+h['weight_decay']*y[i]
            else:
                d=g[i]+(h['weight_decay']*y[i] if h['weight_decay'] is not None else 0)
            z[i]=z[i]-lr*d
            x[i]=(1-ck)*x[i]+ck*z[i]
            y[i]=b1*x[i]+(1-b1)*z[i]
        cmp(n,c,'params',y,k,w); cmp(n,c,'eval_params',x,k,we)
    print(f'   eval dev {we[0]:.3g}; weight_sum {W!r} vs {c["final_state_shared"]["weight_sum"]!r}')
    report(n,w)

def lookahead(n):
    c=load(n); h=c['hyperparameters']; fo=h['fast_optimizer']; fh=fo['hyperparameters']
    fast=arrs(c,c['initial_params']); slow=[a.copy() for a in fast]; w=[0.0]; ws=[0.0]
    def init(): return {'t':0,'m':[np.zeros_like(a) for a in fast],'v':[np.zeros_like(a) for a in fast]}
    S=init()
    for k,st in enumerate(c['steps']):
        g=arrs(c,st['grads']); S['t']+=1; t=S['t']
        for i in range(4):
            if fo['name']=='optax.sgd':
                S['m'][i]=g[i]+fh['momentum']*S['m'][i]; fast[i]=fast[i]-fh['learning_rate']*S['m'][i]
            else:
                S['m'][i]=fh['b1']*S['m'][i]+(1-fh['b1'])*g[i]; S['v'][i]=fh['b2']*S['v'][i]+(1-fh['b2'])*g[i]**2
                fast[i]=fast[i]-fh['learning_rate']*(S['m'][i]/(1-fh['b1']**t))/(np.sqrt(S['v'][i]/(1-fh['b2']**t))+fh['eps'])
        if (k+1)%h['sync_period']==0:
            for i in range(4):
                slow[i]=slow[i]+h['slow_step_size']*(fast[i]-slow[i]); fast[i]=slow[i].copy()
            if h['reset_state']: S=init()
        cmp(n,c,'params',fast,k,w); cmp(n,c,'slow_params',slow,k,ws)
    print(f'   slow dev {ws[0]:.3g}')
    report(n,w)

def optax_muon(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); m=[np.zeros_like(a) for a in p]; v=[np.zeros_like(a) for a in p]; w=[0.0]
    a_,b_,c_=h['ns_coeffs']; beta=h['beta']; nes=h['nesterov']
    for k,st in enumerate(c['steps']):
        t=k+1; g=arrs(c,st['grads'])
        for i in range(4):
            if p[i].ndim==2:
                m[i]=beta*m[i]+(1-beta)*g[i]
                mh=beta*m[i]/(1-beta**(t+1))+(1-beta)*g[i]/(1-beta**t) if nes else m[i]/(1-beta**t)
                X=mh.T if mh.shape[0]>mh.shape[1] else mh
                X=X/(np.linalg.norm(X)+h['eps'])
                for _ in range(h['ns_steps']):
                    A=X@X.T; X=a_*X+(b_*A+c_*A@A)@X
                O=X.T if mh.shape[0]>mh.shape[1] else X
                r,cc=p[i].shape
                sc=h['consistent_rms']*np.sqrt(max(r,cc)) if h['consistent_rms'] is not None else np.sqrt(max(1,cc/r))
                p[i]=p[i]-st['lr']*(sc*O+h['weight_decay']*p[i])
            else:
                b1,b2=h['adam_b1'],h['adam_b2']
                m[i]=b1*m[i]+(1-b1)*g[i]; v[i]=b2*v[i]+(1-b2)*g[i]**2
                mh=b1*m[i]/(1-b1**(t+1))+(1-b1)*g[i]/(1-b1**t) if nes else m[i]/(1-b1**t)
                lr=h['adam_learning_rate'] or st['lr']
                p[i]=p[i]-lr*(mh/(np.sqrt(v[i]/(1-b2**t)+h['adam_eps_root'])+h['eps'])+h['adam_weight_decay']*p[i])
        cmp(n,c,'params',p,k,w)
    report(n,w)

def adafactor(n):
    c=load(n); h=c['hyperparameters']; p=arrs(c,c['initial_params']); w=[0.0]
    eps1=h['eps'][0] if h['eps'][0] is not None else np.finfo(np.float64).eps; eps2=h['eps'][1]
    sign=-1 if h['maximize'] else 1
    st_=[{} for _ in p]
    for k,st in enumerate(c['steps']):
        t=k+1; g=arrs(c,st['grads']); lr=st['lr']
        for i in range(4):
            gi=sign*g[i]
            rho=min(lr,1/np.sqrt(t)); alpha=max(eps2,np.sqrt(np.mean(p[i]**2)))*rho
            p[i]=p[i]*(1-lr*h['weight_decay'])
            wt=t**h['beta2_decay']
            if p[i].ndim>=2:
                S=st_[i]
                if not S: S['r']=np.zeros(p[i].shape[:-1]+(1,)); S['c']=np.zeros(p[i].shape[:-2]+(1,)+p[i].shape[-1:])
                S['r']=S['r']+wt*(np.mean(gi**2,axis=-1,keepdims=True)-S['r'])
                S['c']=S['c']+wt*(np.mean(gi**2,axis=-2,keepdims=True)-S['c'])
                V=S['r']*S['c']/np.maximum(np.mean(S['r'],axis=-2,keepdims=True),eps1)
            else:
                S=st_[i]
                if not S: S['v']=np.zeros_like(p[i])
                S['v']=S['v']+wt*(gi**2-S['v']); V=S['v']
            U=gi/np.maximum(np.sqrt(V),eps1)
            U=U/max(1.0,np.sqrt(np.mean(U**2))/h['d'])
            p[i]=p[i]-alpha*U
        cmp(n,c,'params',p,k,w)
    report(n,w)

def torch_muon_bf16(n):
    import ml_dtypes, torch
    bf=ml_dtypes.bfloat16
    c=load(n); h=c['hyperparameters']; npdt=np.float64 if c['dtype']=='float64' else np.float32
    p=[np.array(v,dtype=npdt).reshape(s) for v,s in zip(c['initial_params'],c['shapes'])]; buf=[np.zeros_like(a) for a in p]; w=[0.0]
    a_,b_,c_=h['ns_coefficients']; mom=h['momentum']
    R=lambda x: np.asarray(x,dtype=np.float32).astype(bf).astype(np.float32)
    for k,st in enumerate(c['steps']):
        g=[np.array(v,dtype=npdt).reshape(s) for v,s in zip(st['grads'],c['shapes'])]
        for i in range(2):
            buf[i]=buf[i]+(1-mom)*(g[i]-buf[i])
            u=g[i]+mom*(buf[i]-g[i]) if h['nesterov'] else buf[i]
            X=R(u); tr=X.shape[0]>X.shape[1]
            if tr: X=X.T
            nrm=R(np.sqrt(np.sum(X.astype(np.float32)**2))); X=R(X/max(nrm,np.float32(h['eps'])))
            for _ in range(h['ns_steps']):
                A=R(X@X.T); B=R(b_*A+c_*(R(A@A) if SEP else A@A)); X=R(a_*X+(R(B@X) if SEP else B@X))
            if tr: X=X.T
            r,cc=p[i].shape; fn=h['adjust_lr_fn']
            ratio=np.sqrt(max(1,r/cc)) if fn in (None,'original') else (0.2*np.sqrt(max(r,cc)) if fn=='match_rms_adamw' else np.sqrt(r/cc))
            p[i]=(p[i]*(1-h['lr']*h['weight_decay'])-h['lr']*ratio*X.astype(npdt)).astype(npdt)
        cmp(n,c,'params',p,k,w)
    report(n+' (bf16 emul.)',w)


# ------------------------------------------------------------------ torch folder
DT = os.path.join(FIX, 'torch') + '/'
def load_t(n, folder=None): return json.load(open((folder or DT)+n+'.json'))
def run(n, step_fn, init_state, folder=None):
    c=load_t(n, folder); h=c['hyperparameters']; p=[np.array(v,dtype=np.float64) for v in c['initial_params']]; S=[init_state(h,x) for x in p]; w=0.0; wc=0.0; wn=0.0
    for k,st in enumerate(c['steps']):
        t=k+1; g=[np.array(v,dtype=np.float64) for v in st['grads']]
        cl=c['clip']
        if cl and cl['kind']=='norm':
            allg=np.concatenate(g); nt=cl['norm_type']
            tn=np.max(np.abs(allg)) if nt=='inf' else np.sum(np.abs(allg)**nt)**(1/nt)
            wn=max(wn,abs(tn-st['total_norm'])/st['total_norm'])
            f=min(1.0,cl['max_norm']/(tn+1e-6)); g=[x*f for x in g]
        elif cl: g=[np.clip(x,-cl['clip_value'],cl['clip_value']) for x in g]
        if cl: wc=max(wc,max(float(np.max(np.abs(a-np.array(b)))) for a,b in zip(g,st['clipped_grads'])))
        for i in range(len(p)): p[i]=step_fn(h,p[i],g[i],S[i],t,st['lr'])
        w=max(w,max(float(np.max(np.abs(a-np.array(b)))) for a,b in zip(p,st['params'])))
    print(f'{n:32s} params {w:.3g}' + (f' clipped {wc:.3g} norm(rel) {wn:.3g}' if c['clip'] else ''))
def sgd(h,p,g,S,t,lr):
    if h['maximize']: g=-g
    g=g+h['weight_decay']*p
    if h['momentum']:
        S['b']=g.copy() if S.get('b') is None else h['momentum']*S['b']+(1-h['dampening'])*g
        g=g+h['momentum']*S['b'] if h['nesterov'] else S['b']
    return p-lr*g
def adam(decoupled):
    def f(h,p,g,S,t,lr):
        b1,b2=h['betas']
        if h['maximize']: g=-g
        if decoupled: p=p*(1-lr*h['weight_decay'])
        else: g=g+h['weight_decay']*p
        S['m']=b1*S['m']+(1-b1)*g; S['v']=b2*S['v']+(1-b2)*g*g
        v=S['v']
        if h['amsgrad']: S['mx']=np.maximum(S['mx'],S['v']); v=S['mx']
        den=np.sqrt(v)/math.sqrt(1-b2**t)+h['eps']
        return p-lr/(1-b1**t)*S['m']/den
    return f
z=lambda h,x: {'m':np.zeros_like(x),'v':np.zeros_like(x),'mx':np.zeros_like(x),'b':None,'u':np.zeros_like(x),'ga':np.zeros_like(x),'mu':1.0}
def adagrad(h,p,g,S,t,lr):
    if h['maximize']: g=-g
    g=g+h['weight_decay']*p
    if t==1: S['s']=np.full_like(p,h['initial_accumulator_value'])
    S['s']=S['s']+g*g; clr=lr/(1+(t-1)*h['lr_decay'])
    return p-clr*g/(np.sqrt(S['s'])+h['eps'])
def rmsprop(h,p,g,S,t,lr):
    g=g+h['weight_decay']*p; a=h['alpha']
    S['v']=a*S['v']+(1-a)*g*g; avg=S['v']
    if h['centered']: S['ga']=a*S['ga']+(1-a)*g; avg=S['v']-S['ga']**2
    den=np.sqrt(avg)+h['eps']
    if h['momentum']>0: S['u']=h['momentum']*S['u']+g/den; return p-lr*S['u']
    return p-lr*g/den
def adadelta(h,p,g,S,t,lr):
    g=g+h['weight_decay']*p; r=h['rho']
    S['v']=r*S['v']+(1-r)*g*g; d=np.sqrt(S['u']+h['eps'])/np.sqrt(S['v']+h['eps'])*g
    S['u']=r*S['u']+(1-r)*d*d; return p-lr*d
def adamax(h,p,g,S,t,lr):
    b1,b2=h['betas']; g=g+h['weight_decay']*p
    S['m']=b1*S['m']+(1-b1)*g; S['v']=np.maximum(b2*S['v'],np.abs(g)+h['eps'])
    return p-lr/(1-b1**t)*S['m']/S['v']
def nadam(h,p,g,S,t,lr):
    b1,b2=h['betas']; md=h['momentum_decay']; g=g+h['weight_decay']*p
    mu=b1*(1-0.5*0.96**(t*md)); mu1=b1*(1-0.5*0.96**((t+1)*md)); S['mu']*=mu
    S['m']=b1*S['m']+(1-b1)*g; S['v']=b2*S['v']+(1-b2)*g*g
    den=np.sqrt(S['v']/(1-b2**t))+h['eps']
    return p-lr*(1-mu)/(1-S['mu'])*g/den-lr*mu1/(1-S['mu']*mu1)*S['m']/den
def decoupled(f):
    def step(h,p,g,S,t,lr):
        return f(dict(h, weight_decay=0.0), p*(1-lr*h['weight_decay']), g, S, t, lr)
    return step
def radam(h,p,g,S,t,lr):
    b1,b2=h['betas']; g=g+h['weight_decay']*p
    S['m']=b1*S['m']+(1-b1)*g; S['v']=b2*S['v']+(1-b2)*g*g
    mh=S['m']/(1-b1**t); ri=2/(1-b2)-1; rt=ri-2*t*b2**t/(1-b2**t)
    if rt>5:
        r=math.sqrt((rt-4)*(rt-2)*ri/((ri-4)*(ri-2)*rt)); al=math.sqrt(1-b2**t)/(np.sqrt(S['v'])+h['eps'])
        return p-lr*mh*r*al
    return p-lr*mh


def main():
    lamb('optax-lamb-wd-mask'); lamb('optax-lamb-mask-false'); lars('optax-lars-nesterov-masks'); lars('optax-lars-masks-false'); lion('optax-lion-wd-mask'); adabelief('optax-adabelief-nesterov'); yogi('optax-yogi-betas-eps')
    sf('optax-schedule-free-adamw-warmup-wd',True); sf('optax-schedule-free-sgd-warmup-wd',False)
    lookahead('optax-lookahead-sgd-momentum-reset'); lookahead('optax-lookahead-adam-sync4')
    optax_muon('optax-muon-consistent-rms')
    adafactor('torch-adafactor-eps1-wd'); adafactor('torch-adafactor-maximize')
    for n in ['torch-muon-match-rms-adamw','torch-muon-spectral-unclamped','torch-muon-match-rms-adamw-f32']: torch_muon_bf16(n)
    for n,f in [('sgd-momentum-dampening',sgd),('sgd-nesterov-wd',sgd),('sgd-maximize-momentum',sgd),('adam-amsgrad',adam(False)),('adam-maximize',adam(False)),('adam-amsgrad-wd',adam(False)),('adamw-amsgrad',adam(True)),('adamw-wd0.1',adam(True)),('adagrad-lrdecay-init-wd',adagrad),('adagrad-maximize',adagrad),('rmsprop-centered-momentum-wd',rmsprop),('rmsprop-alpha0.9',rmsprop),('adadelta-wd-lr-rho',adadelta),('adamax-wd',adamax),('nadam-momentum-decay-wd',nadam),('radam-wd-betas',radam),('clip-norm1-sgd-momentum',sgd),('clip-norminf-adam',adam(False)),('clip-norm3-sgd',sgd),('clip-value-adam',adam(False))]:
        run(n,f,z)
    for n,f in [('torch-adam-decoupled-wd-amsgrad',adam(True)),('torch-adamw-amsgrad-group-key',adam(True)),('torch-nadam-decoupled-wd-betas',decoupled(nadam)),('torch-radam-decoupled-wd-betas',decoupled(radam))]:
        run(n,f,z,D)


if __name__ == '__main__':
    main()
